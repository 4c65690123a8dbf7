package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/promptreg/promptreg/executions"
	"github.com/promptreg/promptreg/httpapi"
	"github.com/promptreg/promptreg/internal/fakellm"
	"github.com/promptreg/promptreg/internal/gittest"
	"github.com/promptreg/promptreg/llm"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/render"
	"github.com/promptreg/promptreg/snapshots"
)

const greetPrompt = `---
model: {provider: openai, name: gpt-4o-mini, fallback: {provider: anthropic, name: claude-3-5-haiku-latest}}
params: {temperature: 0.2}
input_schema:
  type: object
  required: [name]
  properties: {name: {type: string}}
---
system:
You greet people.

user:
Hello, I am {{ name }}.
`

// execEnv is a server that executes prompts against fake providers that
// speak the real wire formats.
type execEnv struct {
	*env
	openai, anthropic *fakellm.Server
	svc               *executions.Service
}

func newExecEnv(t *testing.T, timeout time.Duration) *execEnv {
	t.Helper()
	repo := newRepoWith(t, map[string]string{"greet.prompt": greetPrompt, "plain.prompt": "Say {{ word }}."})
	store, db := openStores(t, repo.Path())
	keeper := snapshots.New(snapshots.Options{Source: store, Parser: render.Parser{}, History: db, Git: store})
	t.Cleanup(keeper.Close)
	if err := keeper.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	oa := fakellm.New(t, fakellm.OpenAI)
	an := fakellm.New(t, fakellm.Anthropic)
	client, err := llm.New(llm.Config{Timeout: timeout, MaxRetries: -1, Providers: map[string]llm.ProviderConfig{
		llm.OpenAI: {BaseURL: oa.BaseURL(), APIKey: "sk-openai"}, llm.Anthropic: {BaseURL: an.BaseURL(), APIKey: "sk-ant"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	cat, err := llm.LoadCatalog("")
	if err != nil {
		t.Fatal(err)
	}
	renderer := render.NewRenderer(render.Options{})
	svc := executions.New(executions.Options{Renderer: renderer, LLM: client, Store: db, Cost: cat.Cost, Workers: 2})
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { svc.Close(time.Second) })
	s := httpapi.New(httpapi.Options{Snapshots: keeper, History: keeper.History(), Renderer: renderer, AdminKey: adminKey, PublicRead: true,
		Executions: svc, ExecutionStore: db, Parser: render.NewParser(), Models: func() any { return cat.Models() }})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &execEnv{env: &env{t: t, reg: &countingKeeper{Keeper: keeper}, srv: srv}, openai: oa, anthropic: an, svc: svc}
}

// newRepoWith is a repository with one commit of files.
func newRepoWith(t *testing.T, files map[string]string) *gittest.Repo {
	t.Helper()
	r := gittest.New(t)
	for p, c := range files {
		r.Write(p, c)
	}
	r.Commit("seed")
	return r
}

// post sends a JSON body with the admin key.
func (e *execEnv) post(path string, body any) response {
	e.t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(http.MethodPost, path, data, "Authorization", "Bearer "+adminKey, "Content-Type", "application/json")
}

func (e *execEnv) admin(path string) response {
	return e.get(path, "Authorization", "Bearer "+adminKey)
}

type execView struct {
	registry.Execution
	ExecutionID  string `json:"execution_id"`
	ResponseText string `json:"response_text"`
	Telemetry    *struct {
		PromptTokens int      `json:"prompt_tokens"`
		TotalCost    *float64 `json:"total_cost"`
	} `json:"telemetry"`
}

func decodeExec(t *testing.T, r response, status int) execView {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	var v execView
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	return v
}

func TestExecuteSync(t *testing.T) {
	e := newExecEnv(t, 5*time.Second)
	e.openai.Script(fakellm.Reply{Text: "Hi Ada!", Usage: &fakellm.Usage{Prompt: 20, Completion: 4}})
	v := decodeExec(t, e.post("/v1/prompts/greet/execute", map[string]any{
		"variables": map[string]any{"name": "Ada"}, "metadata": map[string]any{"team": "cs"}, "correlation_id": "c-1",
	}), http.StatusOK)
	if v.Status != "succeeded" || v.Output != "Hi Ada!" || v.ResponseText != "Hi Ada!" || v.Version != 1 || v.Mode != "git" ||
		v.Provider != "openai" || v.Model != "gpt-4o-mini" || v.Usage.PromptTokens != 20 || v.Usage.CompletionTokens != 4 ||
		v.CostUSD == nil || *v.CostUSD <= 0 || v.Commit == "" || v.Checksum == "" || v.CorrelationID != "c-1" || v.KeyID != "admin" {
		t.Fatalf("execution = %+v", v)
	}
	if v.Telemetry == nil || v.Telemetry.PromptTokens != 20 || v.Telemetry.TotalCost == nil {
		t.Errorf("PromptLedger's telemetry = %+v", v.Telemetry)
	}
	reqs := e.openai.Requests()
	if len(reqs) != 1 {
		t.Fatalf("provider got %d requests", len(reqs))
	}
	msgs, _ := reqs[0].Body["messages"].([]any)
	if len(msgs) != 2 || !strings.Contains(fmt.Sprint(msgs[1]), "Hello, I am Ada.") || reqs[0].Body["temperature"] != 0.2 {
		t.Errorf("provider got %v", reqs[0].Body)
	}
	got := decodeExec(t, e.admin("/v1/executions/"+v.ID), http.StatusOK)
	if got.Output != "Hi Ada!" || got.Status != "succeeded" || got.Metadata["team"] != "cs" || !strings.Contains(got.Input, "Hello, I am Ada.") {
		t.Errorf("recorded = %+v", got)
	}

	// Bad variables: 422, and no provider call.
	if r := e.post("/v1/prompts/greet/execute", map[string]any{"variables": map[string]any{}}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("missing variable: %d %s", r.status, r.body)
	}
	if r := e.post("/v1/prompts/nope/execute", map[string]any{}); r.status != http.StatusNotFound {
		t.Errorf("unknown prompt: %d", r.status)
	}
	if r := e.post("/v1/prompts/greet/execute", map[string]any{"variables": map[string]any{"name": "x"}, "version": 9}); r.status != http.StatusNotFound {
		t.Errorf("unknown version: %d", r.status)
	}
	if r := e.post("/v1/prompts/plain/execute", map[string]any{"variables": map[string]any{"word": "x"}}); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "no model") {
		t.Errorf("a prompt without a model: %d %s", r.status, r.body)
	}
	if r := e.post("/v1/prompts/greet/execute", map[string]any{"variables": map[string]any{"name": "x"}, "mode": "later"}); r.status != http.StatusBadRequest {
		t.Errorf("bad mode: %d", r.status)
	}
	if r := e.post("/v1/prompts/greet/execute", map[string]any{"variables": map[string]any{"name": "x"}, "modle": "x"}); r.status != http.StatusBadRequest {
		t.Errorf("unknown field: %d", r.status)
	}
	if r := e.do(http.MethodPost, "/v1/prompts/greet/execute", []byte(`{"variables":{"name":"x"}}`)); r.status != http.StatusUnauthorized {
		t.Errorf("without a key: %d", r.status)
	}
	if r := e.post("/v1/prompts/greet/execute", map[string]any{"variables": map[string]any{"name": "x"}, "model": map[string]any{"provider": "gemini", "name": "gemini-2.5-flash"}}); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "GEMINI_API_KEY") {
		t.Errorf("a provider that is not configured: %d %s", r.status, r.body)
	}
	if n := len(e.openai.Requests()); n != 1 {
		t.Errorf("refused requests reached the provider: %d calls", n)
	}
}

func TestExecuteFailuresAreRecorded(t *testing.T) {
	e := newExecEnv(t, 300*time.Millisecond)
	vars := map[string]any{"variables": map[string]any{"name": "Bo"}}

	// The primary is down: the fallback answers, and is recorded.
	e.openai.Script(fakellm.Reply{Status: 503, Error: "overloaded"})
	e.anthropic.Script(fakellm.Reply{Text: "Hello Bo"})
	v := decodeExec(t, e.post("/v1/prompts/greet/execute", vars), http.StatusOK)
	if v.Provider != "anthropic" || v.Model != "claude-3-5-haiku-latest" || v.Output != "Hello Bo" {
		t.Errorf("fallback = %+v", v)
	}

	for _, tc := range []struct {
		name              string
		primary, fallback fakellm.Reply
		status            int
		class             string
	}{
		{"both down", fakellm.Reply{Status: 500, Error: "boom"}, fakellm.Reply{Status: 529, Error: "overloaded"}, 502, "unavailable"},
		{"200 with an error body", fakellm.Reply{Error: "model exploded"}, fakellm.Reply{Error: "no"}, 502, "bad_response"},
		{"too slow", fakellm.Reply{Delay: time.Second, Text: "late"}, fakellm.Reply{Delay: time.Second, Text: "late"}, 504, "timeout"},
		{"a bad request does not fall back", fakellm.Reply{Status: 400, Error: "bad temperature"}, fakellm.Reply{Text: "never"}, 502, "bad_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.openai.Script(tc.primary)
			e.anthropic.Script(tc.fallback)
			r := e.post("/v1/prompts/greet/execute", vars)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			var body struct {
				Error struct {
					Details map[string]string `json:"details"`
				} `json:"error"`
			}
			json.Unmarshal(r.body, &body)
			id := body.Error.Details["execution_id"]
			got := decodeExec(t, e.admin("/v1/executions/"+id), http.StatusOK)
			if got.Status != "failed" || got.ErrorClass != tc.class || got.Output != "" {
				t.Errorf("recorded %+v, want failed with class %s", got, tc.class)
			}
			if strings.Contains(string(r.body), "sk-") || strings.Contains(got.Error, "sk-") {
				t.Errorf("a key leaked: %s / %s", r.body, got.Error)
			}
		})
	}
	if n := len(e.anthropic.Requests()); n != 4 {
		t.Errorf("fallback called %d times, want 4 (not for the bad request)", n)
	}
}

// events reads a Server-Sent Events body into (event, data) pairs.
func events(t *testing.T, body []byte) [][2]string {
	t.Helper()
	var out [][2]string
	var ev string
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			ev = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			out = append(out, [2]string{ev, strings.TrimPrefix(line, "data: ")})
		}
	}
	return out
}

func TestExecuteStream(t *testing.T) {
	e := newExecEnv(t, 5*time.Second)
	e.openai.Script(fakellm.Reply{Pieces: []string{"Hel", "lo ", "Cy"}})
	r := e.post("/v1/prompts/greet/execute", map[string]any{"variables": map[string]any{"name": "Cy"}, "mode": "stream"})
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("stream: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
	}
	evs := events(t, r.body)
	var text strings.Builder
	for _, ev := range evs[:len(evs)-1] {
		var d struct{ Text string }
		json.Unmarshal([]byte(ev[1]), &d)
		if ev[0] != "delta" {
			t.Errorf("event %q before the end", ev[0])
		}
		text.WriteString(d.Text)
	}
	last := evs[len(evs)-1]
	var done execView
	json.Unmarshal([]byte(last[1]), &done)
	if text.String() != "Hello Cy" || last[0] != "done" || done.Output != "Hello Cy" || done.TTFTMS == nil {
		t.Errorf("stream = %q then %s %s", text.String(), last[0], last[1])
	}

	// A stream cut short is an error event, recorded as failed.
	e.openai.Script(fakellm.Reply{Pieces: []string{"a", "b", "c"}, Cut: true, CutAfter: 1})
	r = e.post("/v1/prompts/greet/execute", map[string]any{"variables": map[string]any{"name": "Cy"}, "mode": "stream"})
	evs = events(t, r.body)
	if last := evs[len(evs)-1]; last[0] != "error" || !strings.Contains(last[1], "bad_response") {
		t.Errorf("cut stream ends with %v", last)
	}
	// Bad variables are a plain 422 before the stream starts.
	if r := e.post("/v1/prompts/greet/execute", map[string]any{"mode": "stream"}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("stream with bad variables: %d", r.status)
	}
}

// waitFor polls an execution until it reaches a terminal status.
func (e *execEnv) waitFor(id string) execView {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var v execView
		json.Unmarshal(e.admin("/v1/executions/"+id).body, &v)
		if registry.Terminal(v.Status) {
			return v
		}
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("execution %s did not finish", id)
	return execView{}
}

func TestExecuteAsync(t *testing.T) {
	e := newExecEnv(t, 5*time.Second)
	e.openai.Script(fakellm.Reply{Text: "queued answer"})
	// PromptLedger's submit, with its field names.
	v := decodeExec(t, e.post("/v1/executions/submit", map[string]any{"prompt_name": "greet", "version_number": 1,
		"model": map[string]any{"provider": "openai", "model_name": "gpt-4o"}, "variables": map[string]any{"name": "Di"}, "environment": "dev"}), http.StatusAccepted)
	if v.Status != "queued" || v.ExecutionID == "" {
		t.Fatalf("submit = %+v", v)
	}
	done := e.waitFor(v.ID)
	if done.Status != "succeeded" || done.Output != "queued answer" || done.Model != "gpt-4o" || done.Environment != "dev" || done.Attempts != 1 {
		t.Errorf("finished = %+v", done)
	}
	// Following a finished execution answers done at once.
	evs := events(t, e.admin("/v1/executions/"+v.ID+"/stream").body)
	if len(evs) != 1 || evs[0][0] != "done" || !strings.Contains(evs[0][1], "queued answer") {
		t.Errorf("follow finished = %v", evs)
	}

	// A slow one is followed while it streams, then cancelled one is
	// stopped.
	e.openai.Script(fakellm.Reply{Pieces: []string{"one ", "two"}, PieceDelay: 100 * time.Millisecond})
	v = decodeExec(t, e.post("/v1/prompts/greet/execute", map[string]any{"variables": map[string]any{"name": "Ed"}, "mode": "async"}), http.StatusAccepted)
	evs = events(t, e.admin("/v1/executions/"+v.ID+"/stream").body)
	var text strings.Builder
	for _, ev := range evs {
		if ev[0] == "delta" {
			var d struct{ Text string }
			json.Unmarshal([]byte(ev[1]), &d)
			text.WriteString(d.Text)
		}
	}
	if text.String() != "one two" || evs[len(evs)-1][0] != "done" {
		t.Errorf("follow running = %q, %v", text.String(), evs)
	}

	e.openai.Script(fakellm.Reply{Delay: 5 * time.Second, Text: "never"})
	v = decodeExec(t, e.post("/v1/prompts/greet/execute", map[string]any{"variables": map[string]any{"name": "Fi"}, "mode": "async"}), http.StatusAccepted)
	for i := 0; i < 100 && len(e.openai.Requests()) < 4; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	c := decodeExec(t, e.post("/v1/executions/"+v.ID+"/cancel", nil), http.StatusOK)
	if c.Status != "cancelled" {
		t.Errorf("cancel = %+v", c)
	}
	if got := e.waitFor(v.ID); got.Status != "cancelled" {
		t.Errorf("after cancel = %+v", got)
	}
	if r := e.post("/v1/executions/"+v.ID+"/cancel", nil); r.status != http.StatusConflict {
		t.Errorf("cancel twice: %d", r.status)
	}
	if r := e.admin("/v1/executions/ex_nope"); r.status != http.StatusBadRequest {
		t.Errorf("bad id: %d", r.status)
	}
	if r := e.admin("/v1/executions/ex_" + strings.Repeat("0", 30) + "ab"); r.status != http.StatusNotFound {
		t.Errorf("unknown id: %d", r.status)
	}
}

func TestExecutionsListIngestAnalytics(t *testing.T) {
	e := newExecEnv(t, 5*time.Second)
	e.openai.Script(fakellm.Reply{Text: "a"}, fakellm.Reply{Text: "b"}, fakellm.Reply{Status: 400, Error: "no"})
	for i := 0; i < 3; i++ {
		e.post("/v1/executions/run", map[string]any{"prompt_name": "greet", "variables": map[string]any{"name": "x"}, "model_name": "gpt-4o-mini"})
	}
	st, _ := e.reg.Served()
	greet, _ := st.Head.Get("greet")

	r := e.post("/v1/executions/ingest", map[string]any{"executions": []map[string]any{
		{"prompt_name": "greet", "version": 1, "provider": "openai", "model": "gpt-4o", "output": "app ran it", "prompt_tokens": 100, "completion_tokens": 10, "latency_ms": 250, "environment": "production"},
		{"prompt_name": "greet", "checksum": greet.Prompt.Checksum, "status": "failed", "error": "timeout in app", "latency_ms": 900},
		{"prompt_name": "greet", "version": 7},
		{"prompt_name": "../bad", "version": 1},
		{"prompt_name": "greet"},
	}})
	if r.status != http.StatusMultiStatus {
		t.Fatalf("ingest: %d %s", r.status, r.body)
	}
	var ing executions.IngestResult
	json.Unmarshal(r.body, &ing)
	if ing.Accepted != 2 || ing.Rejected != 3 || ing.Problems[0].Index != 2 || ing.Problems[2].Index != 4 {
		t.Errorf("ingest = %+v", ing)
	}
	got := decodeExec(t, e.admin("/v1/executions/"+ing.IDs[0]), http.StatusOK)
	if got.Origin != "ingest" || got.Commit != greet.Prompt.Commit.SHA || got.Mode != "git" || got.CostUSD == nil {
		t.Errorf("ingested = %+v", got)
	}
	if r := e.post("/v1/executions/ingest", map[string]any{"executions": []any{}}); r.status != http.StatusBadRequest {
		t.Errorf("empty ingest: %d", r.status)
	}

	// Lists: filters and cursor paging.
	var page struct {
		Executions []execView `json:"executions"`
		Next       string     `json:"next_cursor"`
	}
	seen := map[string]bool{}
	cursor := ""
	for i := 0; i < 10; i++ {
		page.Executions, page.Next = nil, ""
		json.Unmarshal(e.admin("/v1/executions?limit=2&prompt_name=greet&cursor="+cursor).body, &page)
		for _, x := range page.Executions {
			if seen[x.ID] {
				t.Errorf("%s listed twice", x.ID)
			}
			seen[x.ID] = true
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if len(seen) != 5 {
		t.Errorf("listed %d executions, want 5", len(seen))
	}
	page.Executions, page.Next = nil, ""
	json.Unmarshal(e.admin("/v1/executions/?status=failed").body, &page)
	if len(page.Executions) != 2 {
		t.Errorf("failed ones = %d, want 2", len(page.Executions))
	}
	for _, q := range []string{"status=done", "limit=0", "since=yesterday", "colour=red", "cursor=zzz"} {
		if r := e.admin("/v1/executions?" + q); r.status != http.StatusBadRequest {
			t.Errorf("?%s: %d", q, r.status)
		}
	}

	// Analytics.
	var all struct {
		Prompts []registry.PromptStats `json:"prompts"`
	}
	json.Unmarshal(e.admin("/v1/analytics/prompts").body, &all)
	if len(all.Prompts) != 1 || all.Prompts[0].PromptName != "greet" || all.Prompts[0].Executions != 5 || all.Prompts[0].Failed != 2 {
		t.Errorf("analytics = %+v", all.Prompts)
	}
	var one registry.PromptAnalytics
	json.Unmarshal(e.admin("/v1/analytics/prompts/greet?bucket=day").body, &one)
	if one.Total.Executions != 5 || len(one.ByVersion) != 1 || len(one.ByEnvironment) == 0 || len(one.Series) != 1 {
		t.Errorf("analytics of greet = %+v", one)
	}
	if r := e.admin("/v1/analytics/prompts?mode=weird"); r.status != http.StatusBadRequest {
		t.Errorf("bad mode: %d", r.status)
	}

	// Models.
	if r := e.get("/v1/models"); r.status != http.StatusOK || !strings.Contains(string(r.body), "gpt-4o-mini") {
		t.Errorf("models: %d %.200s", r.status, r.body)
	}
}

func TestPlayground(t *testing.T) {
	e := newExecEnv(t, 5*time.Second)
	r := e.post("/v1/playground/render", map[string]any{"template": "Hi {{ who }}", "variables": map[string]any{"who": "there"}})
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "Hi there") {
		t.Fatalf("playground render: %d %s", r.status, r.body)
	}
	e.openai.Script(fakellm.Reply{Text: "played"})
	v := decodeExec(t, e.post("/v1/playground/execute", map[string]any{"template": "---\nmodel: {name: gpt-4o-mini}\n---\nHi {{ who }}", "variables": map[string]any{"who": "x"}}), http.StatusOK)
	if v.Mode != "playground" || v.Output != "played" || v.Version != 0 || v.Commit != "" {
		t.Errorf("playground execution = %+v", v)
	}
	if r := e.post("/v1/playground/render", map[string]any{"template": "{% if %}"}); r.status != http.StatusUnprocessableEntity {
		t.Errorf("bad template: %d %s", r.status, r.body)
	}
	if r := e.post("/v1/playground/render", map[string]any{}); r.status != http.StatusBadRequest {
		t.Errorf("no template: %d", r.status)
	}
}
