package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promptreg/promptreg/httpapi"
	"github.com/promptreg/promptreg/internal/gittest"
	"github.com/promptreg/promptreg/render"
	"github.com/promptreg/promptreg/snapshots"
	"github.com/promptreg/promptreg/sqlite"
	"github.com/promptreg/promptreg/writes"
)

// writeEnv is a server that writes: its --repo is a bare repository (a
// remote that accepts pushes, as a Git host does), seeded from a working
// repository the test can also push from.
type writeEnv struct {
	*env
	bare  string
	db    *sqlite.Store
	other *gittest.Repo // a second clone of the remote, pushing on its own
}

func newWriteEnv(t *testing.T, files map[string]string) *writeEnv {
	t.Helper()
	seed := gittest.New(t)
	for p, c := range files {
		seed.Write(p, c)
	}
	seed.Commit("seed")
	bare := filepath.Join(t.TempDir(), "remote.git")
	seed.Git("clone", "-q", "--bare", seed.Path(), bare)
	e := newWriteEnvAt(t, bare)
	e.repo = seed
	other := gittest.New(t)
	other.Git("remote", "add", "origin", bare)
	other.Git("fetch", "-q", "origin")
	other.Git("reset", "-q", "--hard", "origin/main")
	e.other = other
	return e
}

// newWriteEnvAt serves the bare repository bare, synced.
func newWriteEnvAt(t testing.TB, bare string) *writeEnv {
	t.Helper()
	store, db := openStores(t, bare)
	keeper := snapshots.New(snapshots.Options{Source: store, Parser: render.Parser{}, History: db, Git: store})
	t.Cleanup(keeper.Close)
	w := writes.New(writes.Options{Keeper: keeper, Committer: store, Mover: store, Source: store, Parser: render.Parser{}, Versions: keeper.History()})
	s := httpapi.New(httpapi.Options{Snapshots: keeper, History: keeper.History(), AdminKey: adminKey, Writer: w, Audit: db, PublicRead: true})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	if err := keeper.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &writeEnv{env: &env{t: t, reg: &countingKeeper{Keeper: keeper}, srv: srv}, bare: bare, db: db}
}

// remote runs git in the bare remote.
func (e *writeEnv) remote(args ...string) string {
	e.t.Helper()
	out, err := gittest.Run(e.bare, gittest.Epoch, "", args...)
	if err != nil {
		e.t.Fatalf("git %v in the remote: %v", args, err)
	}
	return strings.TrimSpace(out)
}

// write sends a write with the admin key.
func (e *writeEnv) write(method, path string, body any, headers ...string) response {
	e.t.Helper()
	var data []byte
	switch b := body.(type) {
	case nil:
	case string:
		data = []byte(b)
	default:
		var err error
		if data, err = json.Marshal(b); err != nil {
			e.t.Fatal(err)
		}
	}
	return e.do(method, path, data, append([]string{"Authorization", "Bearer " + adminKey, "Content-Type", "application/json"}, headers...)...)
}

type writeResult struct {
	Name     string `json:"name"`
	Version  int    `json:"version"`
	Checksum string `json:"checksum"`
	Commit   string `json:"commit"`
	Changed  bool   `json:"changed"`
	Active   bool   `json:"active"`
	Mode     string `json:"mode"`
	Path     string `json:"path"`
}

func decodeWrite(t *testing.T, r response, status int) writeResult {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	var w writeResult
	if err := json.Unmarshal(r.body, &w); err != nil {
		t.Fatal(err)
	}
	return w
}

func TestSavePromptThroughTheAPI(t *testing.T) {
	e := newWriteEnv(t, map[string]string{"hello.prompt": "Hello {{ name }}"})

	// PromptLedger's fields: a new prompt, committed, pushed and served
	// before the answer.
	r := e.write(http.MethodPut, "/v1/prompts/support/greet", map[string]any{
		"template_source": "Hi {{ customer }}!", "description": "Greets", "owner_team": "support",
		"created_by": "Ada Lovelace <ada@example.com>", "model": map[string]any{"provider": "openai", "model_name": "gpt-4o-mini"},
		"params": map[string]any{"temperature": 0.2, "max_tokens": 200}, "tags": []string{"cs"},
		"message": "Add the greeting",
	})
	created := decodeWrite(t, r, http.StatusCreated)
	if !created.Changed || !created.Active || created.Version != 1 || created.Mode != "full" || created.Path != "support/greet.prompt" {
		t.Fatalf("created = %+v", created)
	}
	if head := e.remote("rev-parse", "main"); head != created.Commit {
		t.Fatalf("remote main = %s, answer says %s", head, created.Commit)
	}
	if got := e.remote("log", "-1", "--format=%an <%ae>|%cn|%s|%(trailers:key=Promptreg-Write,valueonly)"); !strings.HasPrefix(got, "Ada Lovelace <ada@example.com>|promptreg|Add the greeting|save") {
		t.Errorf("commit = %q", got)
	}
	file := e.remote("show", "main:support/greet.prompt")
	for _, want := range []string{"description: Greets", "owner_team: support", "name: gpt-4o-mini", "temperature: 0.2", "max_tokens: 200", "Hi {{ customer }}!"} {
		if !strings.Contains(file, want) {
			t.Errorf("file lacks %q:\n%s", want, file)
		}
	}
	g := e.get("/v1/prompts/support/greet")
	if g.status != 200 || g.header.Get("ETag") != `"`+created.Checksum+`"` || !strings.Contains(string(g.body), `"mode":"full"`) {
		t.Fatalf("read after write: %d %s %s", g.status, g.header.Get("ETag"), g.body)
	}

	// The same content again: nothing committed.
	again := decodeWrite(t, e.write(http.MethodPut, "/v1/prompts/support/greet", map[string]any{"template_source": "Hi {{ customer }}!"}), http.StatusOK)
	if again.Changed || again.Version != 1 || again.Commit != created.Commit {
		t.Fatalf("identical save = %+v", again)
	}

	// A field only: the rest of the file stays.
	upd := decodeWrite(t, e.write(http.MethodPut, "/v1/prompts/support/greet", map[string]any{"description": "Greets warmly"},
		"If-Match", `"`+created.Checksum+`"`), http.StatusOK)
	if !upd.Changed || upd.Version != 2 {
		t.Fatalf("update = %+v", upd)
	}
	if file := e.remote("show", "main:support/greet.prompt"); !strings.Contains(file, "Greets warmly") || !strings.Contains(file, "Hi {{ customer }}!") || !strings.Contains(file, "owner_team") {
		t.Errorf("updated file:\n%s", file)
	}
	// If-Match with the old checksum: 412, nothing committed.
	head := e.remote("rev-parse", "main")
	stale := e.write(http.MethodPut, "/v1/prompts/support/greet", map[string]any{"description": "x"}, "If-Match", `"`+created.Checksum+`"`)
	if stale.status != http.StatusPreconditionFailed || errorCode(t, stale) != "precondition_failed" {
		t.Fatalf("stale If-Match: %d %s", stale.status, stale.body)
	}
	// A whole file as content, to an existing git-mode prompt.
	whole := decodeWrite(t, e.write(http.MethodPut, "/v1/prompts/hello", map[string]any{"content": "---\ndescription: d\n---\nHello {{ who }}"}), http.StatusOK)
	if whole.Version != 2 || whole.Mode != "full" || whole.Path != "hello.prompt" {
		t.Fatalf("content save = %+v", whole)
	}
	if e.remote("rev-parse", "main^") != head {
		t.Error("the 412 committed something")
	}

	// Revert: version 1's bytes again are version 1.
	rev := decodeWrite(t, e.write(http.MethodPost, "/v1/prompts/support/greet/revert", map[string]any{"version": 1}), http.StatusOK)
	if !rev.Changed || rev.Version != 1 || rev.Checksum != created.Checksum {
		t.Fatalf("revert = %+v, want version 1 %s", rev, created.Checksum)
	}
	if g := e.get("/v1/prompts/support/greet"); g.header.Get("ETag") != `"`+created.Checksum+`"` {
		t.Errorf("after revert ETag %s", g.header.Get("ETag"))
	}

	// Tags: set, then remove one.
	tags := decodeWrite(t, e.write(http.MethodPut, "/v1/prompts/support/greet/tags", map[string]any{"tags": []string{"cs", "vip"}}), http.StatusOK)
	if !tags.Changed {
		t.Fatalf("tags = %+v", tags)
	}
	decodeWrite(t, e.write(http.MethodDelete, "/v1/prompts/support/greet/tags", map[string]any{"tags": []string{"cs"}}), http.StatusOK)
	if g := e.get("/v1/prompts/support/greet"); !strings.Contains(string(g.body), `"tags":["vip"]`) {
		t.Errorf("tags after delete: %s", g.body)
	}

	// Rename: the file moves, the bytes (and so the checksum) stay.
	before := e.get("/v1/prompts/support/greet")
	var bp struct{ Checksum string }
	json.Unmarshal(before.body, &bp)
	ren := decodeWrite(t, e.write(http.MethodPost, "/v1/prompts/support/greet/rename", map[string]any{"new_name": "support/welcome"}), http.StatusOK)
	if ren.Name != "support/welcome" || ren.Checksum != bp.Checksum || ren.Path != "support/welcome.prompt" {
		t.Fatalf("rename = %+v (checksum before %s)", ren, bp.Checksum)
	}
	if e.get("/v1/prompts/support/greet").status != 404 || e.get("/v1/prompts/support/welcome").status != 200 {
		t.Error("rename not served")
	}

	// Delete: gone from the head, its versions still readable.
	decodeWrite(t, e.write(http.MethodDelete, "/v1/prompts/support/welcome", nil), http.StatusOK)
	if e.get("/v1/prompts/support/welcome").status != 404 {
		t.Error("deleted prompt still served")
	}
	if r := e.get("/v1/prompts/hello?version=1"); r.status != 200 {
		t.Errorf("old version: %d", r.status)
	}
	if r := e.write(http.MethodDelete, "/v1/prompts/support/welcome", nil); r.status != 404 {
		t.Errorf("second delete: %d %s", r.status, r.body)
	}

	// The history is linear and fsck finds nothing.
	if merges := e.remote("rev-list", "--merges", "main"); merges != "" {
		t.Errorf("merges on main: %s", merges)
	}
	e.remote("fsck", "--strict")

	// Every write is in the audit log, newest first.
	a := e.get("/v1/audit?limit=100", "Authorization", "Bearer "+adminKey)
	var audit struct {
		Entries []struct{ Action, Prompt, Result string } `json:"entries"`
	}
	if err := json.Unmarshal(a.body, &audit); err != nil || a.status != 200 {
		t.Fatalf("audit: %d %s", a.status, a.body)
	}
	if len(audit.Entries) < 10 {
		t.Fatalf("audit has %d entries: %s", len(audit.Entries), a.body)
	}
	if !strings.Contains(string(a.body), `"result":"precondition_failed"`) || !strings.Contains(string(a.body), `"result":"unchanged"`) ||
		!strings.Contains(string(a.body), `"key_id":"admin"`) || !strings.Contains(string(a.body), `"route":"PUT /v1/prompts/{name}"`) {
		t.Errorf("audit lacks entries: %s", a.body)
	}
	if r := e.get("/v1/audit"); r.status != http.StatusUnauthorized {
		t.Errorf("audit without a key: %d", r.status)
	}
}

func TestBadWritesChangeNothing(t *testing.T) {
	e := newWriteEnv(t, map[string]string{"a.prompt": "A {{ x }}", "b.prompt": "---\nname: claimed\n---\nB"})
	head := e.remote("rev-parse", "main")
	big := strings.Repeat("x", 1<<20+1)
	for _, tc := range []struct {
		name, method, path string
		body               any
		headers            []string
		status             int
		code               string
	}{
		{"no key", http.MethodPut, "/v1/prompts/n", `{"template_source":"x"}`, []string{"Authorization", ""}, 401, "unauthorized"},
		{"unknown field", http.MethodPut, "/v1/prompts/n", `{"template_sauce":"x"}`, nil, 400, "invalid"},
		{"not JSON", http.MethodPut, "/v1/prompts/n", `{`, nil, 400, "invalid"},
		{"nothing", http.MethodPut, "/v1/prompts/n", `{}`, nil, 400, "invalid"},
		{"both", http.MethodPut, "/v1/prompts/n", `{"content":"x","template_source":"y"}`, nil, 400, "invalid"},
		{"bad yaml", http.MethodPut, "/v1/prompts/n", map[string]string{"content": "---\ntags: [a\n---\nx"}, nil, 422, "unprocessable"},
		{"bad jinja", http.MethodPut, "/v1/prompts/n", map[string]string{"template_source": "{% if %}"}, nil, 422, "unprocessable"},
		{"bad schema", http.MethodPut, "/v1/prompts/n", map[string]any{"template_source": "x", "input_schema": map[string]any{"type": 5}}, nil, 422, "unprocessable"},
		{"missing partial", http.MethodPut, "/v1/prompts/n", map[string]string{"template_source": `{% include "nope" %}`}, nil, 422, "unprocessable"},
		{"renamed by front matter", http.MethodPut, "/v1/prompts/n", map[string]string{"content": "---\nname: other\n---\nx"}, nil, 422, "unprocessable"},
		{"file of another prompt", http.MethodPut, "/v1/prompts/b", map[string]string{"template_source": "x"}, nil, 422, "unprocessable"},
		{"bad name", http.MethodPut, "/v1/prompts/a%20b", `{"template_source":"x"}`, nil, 400, "invalid"},
		{"reserved name", http.MethodPut, "/v1/prompts/x/versions", `{"template_source":"x"}`, nil, 405, "method_not_allowed"},
		{"too large file", http.MethodPut, "/v1/prompts/n", map[string]string{"content": big}, nil, 413, "too_large"},
		{"too large body", http.MethodPut, "/v1/prompts/n", `{"content":"` + strings.Repeat("\\u0041", 1<<19) + `"}`, nil, 413, "too_large"},
		{"If-Match on a new prompt", http.MethodPut, "/v1/prompts/n", `{"template_source":"x"}`, []string{"If-Match", `"abc"`}, 412, "precondition_failed"},
		{"weak If-Match", http.MethodPut, "/v1/prompts/a", `{"template_source":"x"}`, []string{"If-Match", `W/"abc"`}, 412, "precondition_failed"},
		{"empty If-Match tag", http.MethodPut, "/v1/prompts/a", `{"template_source":"x"}`, []string{"If-Match", `""`}, 412, "precondition_failed"},
		{"lone quote If-Match", http.MethodDelete, "/v1/prompts/a", nil, []string{"If-Match", `"`}, 412, "precondition_failed"},
		{"quoted star If-Match", http.MethodPut, "/v1/prompts/a", `{"template_source":"x"}`, []string{"If-Match", `"*"`}, 412, "precondition_failed"},
		{"delete missing", http.MethodDelete, "/v1/prompts/nope", nil, nil, 404, "not_found"},
		{"delete unknown field", http.MethodDelete, "/v1/prompts/a", `{"new_name":"z"}`, nil, 400, "invalid"},
		{"rename to taken", http.MethodPost, "/v1/prompts/a/rename", `{"new_name":"claimed"}`, nil, 409, "conflict"},
		{"rename without name", http.MethodPost, "/v1/prompts/a/rename", `{}`, nil, 400, "invalid"},
		{"revert to missing version", http.MethodPost, "/v1/prompts/a/revert", `{"version":9}`, nil, 404, "not_found"},
		{"tags not strings", http.MethodPut, "/v1/prompts/a/tags", `{"tags":[1]}`, nil, 400, "invalid"},
		{"register nothing", http.MethodPost, "/v1/prompts/register-code", `{"prompts":[]}`, nil, 400, "invalid"},
		{"register a git prompt", http.MethodPost, "/v1/prompts/register-code", `{"prompts":[{"name":"a","template_source":"x"}]}`, nil, 422, "unprocessable"},
		{"register bad hash", http.MethodPost, "/v1/prompts/register-code", `{"prompts":[{"name":"t","template_source":"x","template_hash":"00"}]}`, nil, 400, "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.write(tc.method, tc.path, tc.body, tc.headers...)
			if r.status != tc.status || errorCode(t, r) != tc.code {
				t.Fatalf("%d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
		})
	}
	if now := e.remote("rev-parse", "main"); now != head {
		t.Fatalf("bad writes moved main from %s to %s", head, now)
	}
}

func TestRegisterCode(t *testing.T) {
	e := newWriteEnv(t, map[string]string{"a.prompt": "A"})
	type detail struct {
		Name            string `json:"name"`
		Mode            string `json:"mode"`
		Version         int    `json:"version"`
		ChangeDetected  bool   `json:"change_detected"`
		PreviousVersion int    `json:"previous_version"`
		Action          string `json:"action"`
	}
	type result struct {
		Registered, Updated, Unchanged int
		Commit                         string
		Details                        []detail
	}
	register := func(prompts ...map[string]any) result {
		t.Helper()
		r := e.write(http.MethodPost, "/v1/prompts/register-code", map[string]any{"prompts": prompts})
		if r.status != 200 {
			t.Fatalf("register: %d %s", r.status, r.body)
		}
		var res result
		json.Unmarshal(r.body, &res)
		return res
	}
	first := register(map[string]any{"name": "WELCOME", "template_source": "Hello {{name}}!"}, map[string]any{"name": "bye", "template_source": "Bye"})
	if first.Registered != 2 || len(first.Details) != 2 || !first.Details[0].ChangeDetected || first.Details[0].Mode != "tracking" || first.Details[0].Version != 1 {
		t.Fatalf("first = %+v", first)
	}
	if n := e.remote("rev-list", "--count", "main"); n != "2" {
		t.Errorf("commits = %s, want the seed and one registration", n)
	}
	if f := e.remote("show", "main:tracked/WELCOME.prompt"); !strings.Contains(f, "name: WELCOME") {
		t.Errorf("tracked file:\n%s", f)
	}
	same := register(map[string]any{"name": "WELCOME", "template_source": "Hello {{name}}!"}, map[string]any{"name": "bye", "template_source": "Bye"})
	if same.Unchanged != 2 || same.Commit != first.Commit || same.Details[0].ChangeDetected || same.Details[0].Version != 1 {
		t.Fatalf("same = %+v", same)
	}
	changed := register(map[string]any{"name": "WELCOME", "template_source": "Hello {{name}}, welcome!"}, map[string]any{"name": "bye", "template_source": "Bye"})
	d := changed.Details[0]
	if changed.Updated != 1 || changed.Unchanged != 1 || !d.ChangeDetected || d.Version != 2 || d.PreviousVersion != 1 || d.Action != "update" {
		t.Fatalf("changed = %+v", changed)
	}
	if r := e.get("/v1/prompts?mode=tracking"); !strings.Contains(string(r.body), `"total":2`) {
		t.Errorf("tracking list: %s", r.body)
	}
	if r := e.get("/v1/prompts?mode=git"); !strings.Contains(string(r.body), `"total":1`) {
		t.Errorf("git list: %s", r.body)
	}
}

// TestConcurrentWrites races 50 saves of different prompts, 20 saves of one
// prompt that all carry the same If-Match, and a second clone pushing to the
// remote meanwhile: every 2xx is in the remote's history, exactly one of the
// If-Match saves wins, the others are told 412 (or 409), and the history
// stays linear and sound.
func TestConcurrentWrites(t *testing.T) {
	e := newWriteEnv(t, map[string]string{"shared.prompt": "shared v0"})
	var sharedSum struct{ Checksum string }
	json.Unmarshal(e.get("/v1/prompts/shared").body, &sharedSum)

	type outcome struct {
		status int
		commit string
		shared bool
	}
	results := make(chan outcome, 70)
	for i := range 50 {
		go func() {
			r := e.write(http.MethodPut, fmt.Sprintf("/v1/prompts/p%02d", i), map[string]any{"template_source": fmt.Sprintf("prompt %d {{ x }}", i)})
			var w writeResult
			json.Unmarshal(r.body, &w)
			results <- outcome{r.status, w.Commit, false}
		}()
	}
	for i := range 20 {
		go func() {
			r := e.write(http.MethodPut, "/v1/prompts/shared", map[string]any{"template_source": fmt.Sprintf("shared by writer %d", i)},
				"If-Match", `"`+sharedSum.Checksum+`"`)
			var w writeResult
			json.Unmarshal(r.body, &w)
			results <- outcome{r.status, w.Commit, true}
		}()
	}
	// Meanwhile another clone pushes commits of its own.
	for i := range 5 {
		e.other.Write(fmt.Sprintf("outside%d.prompt", i), "pushed with git")
		e.other.Commit("outside")
		for {
			if _, err := gittest.Run(e.other.Path(), gittest.Epoch, "", "push", "-q", "origin", "HEAD:main"); err == nil {
				break
			}
			e.other.Git("pull", "-q", "--rebase", "origin", "main")
		}
	}

	var ok, sharedWins, sharedLosers int
	var commits []string
	for range 70 {
		o := <-results
		switch {
		case o.status == 200 || o.status == 201:
			ok++
			commits = append(commits, o.commit)
			if o.shared {
				sharedWins++
			}
		case o.shared && (o.status == 412 || o.status == 409):
			sharedLosers++
		default:
			t.Errorf("status %d (shared %v)", o.status, o.shared)
		}
	}
	if sharedWins != 1 || sharedLosers != 19 || ok != 51 {
		t.Fatalf("ok %d, shared wins %d, losers %d", ok, sharedWins, sharedLosers)
	}
	for _, c := range commits {
		if _, err := gittest.Run(e.bare, gittest.Epoch, "", "merge-base", "--is-ancestor", c, "main"); err != nil {
			t.Errorf("acknowledged commit %s is not in main's history", c)
		}
	}
	for i := range 50 {
		e.remote("cat-file", "-e", fmt.Sprintf("main:p%02d.prompt", i))
	}
	for i := range 5 {
		e.remote("cat-file", "-e", fmt.Sprintf("main:outside%d.prompt", i))
	}
	if merges := e.remote("rev-list", "--merges", "main"); merges != "" {
		t.Errorf("merges on main: %s", merges)
	}
	e.remote("fsck", "--strict")
}

func TestWriteToACheckedOutBranchSaysWhatToDo(t *testing.T) {
	e := newEnv(t, "")
	e.commit(map[string]string{"a.prompt": "A"})
	store, db := openStores(t, e.repo.Path())
	keeper := snapshots.New(snapshots.Options{Source: store, Parser: render.Parser{}, History: db, Git: store})
	t.Cleanup(keeper.Close)
	if err := keeper.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	w := writes.New(writes.Options{Keeper: keeper, Committer: store, Mover: store, Source: store, Parser: render.Parser{}, Versions: keeper.History()})
	srv := httptest.NewServer(httpapi.New(httpapi.Options{Snapshots: keeper, History: keeper.History(), AdminKey: adminKey, Writer: w, PublicRead: true}).Handler())
	t.Cleanup(srv.Close)
	we := &writeEnv{env: &env{t: t, repo: e.repo, srv: srv}}
	r := we.write(http.MethodPut, "/v1/prompts/a", map[string]string{"template_source": "B"})
	if r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "git clone --bare") {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if got := e.repo.Git("show", "HEAD:a.prompt"); got != "A" {
		t.Errorf("the working repository changed: %q", got)
	}
}

// TestUpstreamChangeOfTheSameFile: the remote moved after the server last
// synced. A write to another file is re-applied on the new head; a write to
// the file that changed upstream is refused with 409 and both checksums,
// or 412 with If-Match; nothing of theirs is overwritten.
func TestUpstreamChangeOfTheSameFile(t *testing.T) {
	e := newWriteEnv(t, map[string]string{"x.prompt": "X1", "y.prompt": "Y1"})
	var x struct{ Checksum string }
	json.Unmarshal(e.get("/v1/prompts/x").body, &x)

	e.other.Write("x.prompt", "X2 from git")
	e.other.Commit("edit x with git")
	e.other.Git("push", "-q", "origin", "HEAD:main")
	upstream := e.remote("rev-parse", "main")

	// Another file: retried on the new head, both changes kept.
	y := decodeWrite(t, e.write(http.MethodPut, "/v1/prompts/y", map[string]string{"template_source": "Y2"}), http.StatusOK)
	if e.remote("rev-parse", y.Commit+"^") != upstream {
		t.Fatalf("the write was not re-applied on the remote's head")
	}

	e.other.Git("pull", "-q", "--rebase", "origin", "main")
	e.other.Write("x.prompt", "X3 from git")
	e.other.Commit("edit x again")
	e.other.Git("push", "-q", "origin", "HEAD:main")
	head := e.remote("rev-parse", "main")

	r := e.write(http.MethodPut, "/v1/prompts/x", map[string]string{"template_source": "X from the API"})
	if r.status != http.StatusConflict || !strings.Contains(string(r.body), "expected_checksum") || !strings.Contains(string(r.body), "current_checksum") {
		t.Fatalf("same file changed upstream: %d %s", r.status, r.body)
	}
	r = e.write(http.MethodPut, "/v1/prompts/x", map[string]string{"template_source": "X from the API"}, "If-Match", `"`+x.Checksum+`"`)
	if r.status != http.StatusPreconditionFailed {
		t.Fatalf("If-Match on an upstream-changed file: %d %s", r.status, r.body)
	}
	if now := e.remote("rev-parse", "main"); now != head {
		t.Fatalf("a refused write moved main")
	}
	if got := e.remote("show", "main:x.prompt"); got != "X3 from git" {
		t.Errorf("x = %q", got)
	}
}
