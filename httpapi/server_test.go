package httpapi_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/promptreg/promptreg/gitstore"
	"github.com/promptreg/promptreg/httpapi"
	"github.com/promptreg/promptreg/internal/gittest"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/render"
	"github.com/promptreg/promptreg/snapshots"
	"github.com/promptreg/promptreg/sqlite"
)

const (
	adminKey = "admin-secret-key"
	secret   = "webhook-secret"
)

// countingKeeper is the real snapshot keeper, counting Trigger calls.
type countingKeeper struct {
	*snapshots.Keeper
	triggers atomic.Int32
}

func (c *countingKeeper) Trigger(registry.Cause) { c.triggers.Add(1) }

// env is a server under test: a real Git repository the test commits into,
// the real store, registry and HTTP server.
type env struct {
	t    testing.TB
	repo *gittest.Repo
	reg  *countingKeeper
	srv  *httptest.Server
}

func newEnv(t testing.TB, webhookSecret string) *env {
	t.Helper()
	repo := gittest.New(t)
	store, db := openStores(t, repo.Path())
	keeper := snapshots.New(snapshots.Options{Source: store, Parser: render.Parser{}, History: db, Git: store, FetchUnknownRefs: true})
	t.Cleanup(keeper.Close)
	reg := &countingKeeper{Keeper: keeper}
	s := httpapi.New(httpapi.Options{Snapshots: reg, History: keeper.History(), Renderer: render.NewRenderer(render.Options{}), AdminKey: adminKey, WebhookSecret: webhookSecret, PublicRead: true, PublicMetrics: true})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, repo: repo, reg: reg, srv: srv}
}

// openStores opens a clone of url and a database in temporary directories,
// closed when the test ends.
func openStores(t testing.TB, url string) (*gitstore.Store, *sqlite.Store) {
	t.Helper()
	store, err := gitstore.Open(gitstore.Options{URL: url, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	db, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "promptreg.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return store, db
}

func (e *env) commit(files map[string]string) string {
	e.t.Helper()
	for p, c := range files {
		if c == "" {
			e.repo.Remove(p)
		} else {
			e.repo.Write(p, c)
		}
	}
	return e.repo.Commit("change")
}

func (e *env) sync() {
	e.t.Helper()
	if err := e.reg.Sync(context.Background()); err != nil {
		e.t.Fatalf("Sync: %v", err)
	}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (e *env) do(method, path string, body []byte, headers ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, b}
}

func (e *env) get(path string, headers ...string) response {
	e.t.Helper()
	return e.do(http.MethodGet, path, nil, headers...)
}

// errorCode decodes the JSON error envelope.
func errorCode(t *testing.T, r response) string {
	t.Helper()
	var env struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(r.body, &env); err != nil || env.Error.Code == "" || env.Error.Message == "" {
		t.Fatalf("body %q is not the error envelope (%v)", r.body, err)
	}
	return env.Error.Code
}

const welcome = `---
description: Greets a customer
tags: [onboarding, support]
model: {provider: openai, name: gpt-4o-mini}
---
system:
You help {{ company | default("ACME") }}.
{% include "partials/safety" %}

user:
Hi, I am {{ customer_name }}.
`

func seeded(t testing.TB) *env {
	e := newEnv(t, secret)
	e.commit(map[string]string{
		"support/welcome.prompt":  welcome,
		"partials/safety.prompt":  "Never reveal secrets.",
		"summarize.j2":            "Summarize: {{ text }}",
		"promptreg.yaml":          "environments:\n  production: refs/tags/production\n",
		"docs/README.md":          "not a prompt",
		"support/escalate.prompt": "---\ntags: [support]\n---\nEscalate {{ ticket }}",
	})
	e.repo.Tag("production", e.repo.Git("rev-parse", "HEAD"))
	e.sync()
	return e
}

func TestNotReady(t *testing.T) {
	e := newEnv(t, secret)
	if r := e.get("/readyz"); r.status != http.StatusServiceUnavailable || errorCode(t, r) != registry.EUNAVAILABLE {
		t.Errorf("readyz before sync = %d %s", r.status, r.body)
	}
	if r := e.get("/v1/prompts/a"); r.status != http.StatusServiceUnavailable {
		t.Errorf("GET before sync = %d, want 503", r.status)
	}
	if r := e.get("/healthz"); r.status != http.StatusOK {
		t.Errorf("healthz = %d", r.status)
	}
}

func TestGetPrompt(t *testing.T) {
	e := seeded(t)
	head := e.repo.Git("rev-parse", "HEAD")
	r := e.get("/v1/prompts/support/welcome")
	if r.status != http.StatusOK {
		t.Fatalf("status = %d: %s", r.status, r.body)
	}
	var p map[string]any
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"name", "checksum", "path", "format", "template", "messages", "variables", "includes", "description", "tags", "model"} {
		if _, ok := p[k]; !ok {
			t.Errorf("body lacks %q: %s", k, r.body)
		}
	}
	if p["name"] != "support/welcome" || p["format"] != "chat" || p["path"] != "support/welcome.prompt" {
		t.Errorf("name, format, path = %v, %v, %v", p["name"], p["format"], p["path"])
	}
	if got := r.header.Get("X-Promptreg-Commit"); got != head {
		t.Errorf("X-Promptreg-Commit = %q, want %q", got, head)
	}
	if got := r.header.Get("X-Promptreg-Ref"); got != "refs/heads/main" {
		t.Errorf("X-Promptreg-Ref = %q", got)
	}
	if got := r.header.Get("Cache-Control"); !strings.Contains(got, "no-cache") || !strings.Contains(got, "stale-if-error") {
		t.Errorf("Cache-Control = %q", got)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Errorf("Content-Type = %q", r.header.Get("Content-Type"))
	}

	// A prompt without partials: the ETag is the sha256 of the file.
	raw := e.get("/v1/prompts/summarize/raw")
	sum := sha256.Sum256([]byte("Summarize: {{ text }}"))
	if string(raw.body) != "Summarize: {{ text }}" || raw.header.Get("ETag") != `"`+hex.EncodeToString(sum[:])+`"` {
		t.Errorf("raw = %q etag %s", raw.body, raw.header.Get("ETag"))
	}
	if got := e.get("/v1/prompts/summarize").header.Get("ETag"); got != raw.header.Get("ETag") {
		t.Errorf("prompt etag %s != raw etag %s", got, raw.header.Get("ETag"))
	}
	// The body depends only on the version: a new unrelated commit serves
	// the same bytes under the same ETag, and only the commit header moves.
	e.commit(map[string]string{"other.prompt": "x"})
	e.sync()
	r2 := e.get("/v1/prompts/support/welcome")
	if !bytes.Equal(r2.body, r.body) || r2.header.Get("ETag") != r.header.Get("ETag") {
		t.Errorf("unrelated commit changed the body or the ETag")
	}
	if r2.header.Get("X-Promptreg-Commit") == head {
		t.Errorf("commit header did not move")
	}
}

func TestConditionalRequests(t *testing.T) {
	e := seeded(t)
	etag := e.get("/v1/prompts/support/welcome").header.Get("ETag")
	if len(etag) != 66 {
		t.Fatalf("etag = %q, want a quoted sha256", etag)
	}
	tests := []struct {
		name, inm string
		want      int
	}{
		{"exact match", etag, http.StatusNotModified},
		{"weak form matches", "W/" + etag, http.StatusNotModified},
		{"in a list", `"abc", ` + etag, http.StatusNotModified},
		{"list without spaces", `"abc",W/` + etag, http.StatusNotModified},
		{"star", "*", http.StatusNotModified},
		{"other tag", `"0000"`, http.StatusOK},
		{"unquoted is not a match", strings.Trim(etag, `"`), http.StatusOK},
		{"malformed list stops matching", `garbage, ` + etag, http.StatusOK},
		{"garbage after the tag is not a match", etag + `x`, http.StatusOK},
		{"star with garbage is not a match", `*x`, http.StatusOK},
		{"star in a list is not a match", `*, "abc"`, http.StatusOK},
		{"tags without a comma are not a match", `"abc"` + etag, http.StatusOK},
		{"empty", "", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.get("/v1/prompts/support/welcome", "If-None-Match", tt.inm)
			if r.status != tt.want {
				t.Fatalf("status = %d, want %d", r.status, tt.want)
			}
			if r.status == http.StatusNotModified {
				if len(r.body) != 0 || r.header.Get("ETag") != etag || r.header.Get("Cache-Control") == "" {
					t.Errorf("304 with body %q, etag %q, cache-control %q", r.body, r.header.Get("ETag"), r.header.Get("Cache-Control"))
				}
			}
		})
	}
	// Editing the partial changes the including prompt's ETag.
	e.commit(map[string]string{"partials/safety.prompt": "Never reveal secrets. Ever."})
	e.sync()
	if r := e.get("/v1/prompts/support/welcome", "If-None-Match", etag); r.status != http.StatusOK {
		t.Errorf("after editing the partial: %d, want 200 with a new ETag", r.status)
	}
}

func TestSelection(t *testing.T) {
	e := seeded(t)
	v1 := e.repo.Git("rev-parse", "HEAD")
	e.commit(map[string]string{"summarize.j2": "Summarize briefly: {{ text }}"})
	e.repo.Git("branch", "feature")
	e.sync()
	tests := []struct {
		query, want, ref string
	}{
		{"", "Summarize briefly: {{ text }}", "refs/heads/main"},
		{"?env=production", "Summarize: {{ text }}", "refs/tags/production"},
		{"?ref=production", "Summarize: {{ text }}", "refs/tags/production"},
		{"?ref=feature", "Summarize briefly: {{ text }}", "refs/heads/feature"},
		{"?ref=" + v1, "Summarize: {{ text }}", v1},
		{"?ref=" + v1[:7], "Summarize: {{ text }}", v1},
	}
	for _, tt := range tests {
		r := e.get("/v1/prompts/summarize/raw" + tt.query)
		if r.status != http.StatusOK || string(r.body) != tt.want || r.header.Get("X-Promptreg-Ref") != tt.ref {
			t.Errorf("%s: %d %q ref %q, want %q ref %q", tt.query, r.status, r.body, r.header.Get("X-Promptreg-Ref"), tt.want, tt.ref)
		}
	}
	// A ref the last fetch did not bring is fetched on demand, for a
	// request with a key: an anonymous one (reads are public here) does
	// not get to make the server ask the remote.
	e.repo.Git("update-ref", "refs/pull/7/head", v1)
	e.repo.Git("branch", "late", v1)
	for _, q := range []string{"?ref=refs/pull/7/head", "?ref=late"} {
		if r := e.get("/v1/prompts/summarize/raw" + q); r.status != http.StatusNotFound {
			t.Errorf("%s without a key: %d %q, want 404 without a lookup", q, r.status, r.body)
		}
		if r := e.get("/v1/prompts/summarize/raw"+q, "Authorization", "Bearer "+adminKey); r.status != 200 || string(r.body) != "Summarize: {{ text }}" {
			t.Errorf("%s: %d %q", q, r.status, r.body)
		}
	}
	// Moving the tag is served after the next sync.
	e.repo.Tag("production", e.repo.Git("rev-parse", "HEAD"))
	e.sync()
	if r := e.get("/v1/prompts/summarize/raw?env=production"); string(r.body) != "Summarize briefly: {{ text }}" {
		t.Errorf("after moving the tag: %q", r.body)
	}
}

func TestBadRequests(t *testing.T) {
	e := seeded(t)
	tests := []struct {
		path   string
		status int
		code   string
	}{
		{"/v1/prompts/nope", 404, registry.ENOTFOUND},
		{"/v1/prompts/support/welcome?env=nope", 404, registry.ENOTFOUND},
		{"/v1/prompts/support/welcome?ref=nope", 404, registry.ENOTFOUND},
		{"/v1/prompts/support/welcome?ref=deadbeef", 404, registry.ENOTFOUND},
		{"/v1/prompts/support/welcome?ref=a..b", 400, registry.EINVALID},
		{"/v1/prompts/support/welcome?env=a&ref=b", 400, registry.EINVALID},
		{"/v1/prompts/support/welcome?env=", 400, registry.EINVALID},
		{"/v1/prompts/support/welcome?env=a&env=b", 400, registry.EINVALID},
		{"/v1/prompts/support/%2e%2e/%2e%2e/etc/passwd", 400, registry.EINVALID},
		{"/v1/prompts/support//welcome", 400, registry.EINVALID},
		{"/v1/prompts/we$lcome", 400, registry.EINVALID},
		{"/v1/prompts/support/welcome/nope/raw/x", 404, registry.ENOTFOUND},
		{"/v1/prompts/support/welcome/dependents", 404, registry.ENOTFOUND},
		{"/v1/prompts/support/welcome/diff", 400, registry.EINVALID},
		{"/v1/prompts/support/welcome/diff?from=1&to=99", 404, registry.ENOTFOUND},
		{"/v1/prompts/support/welcome?version=99", 404, registry.ENOTFOUND},
		{"/v1/prompts/nope/versions", 404, registry.ENOTFOUND},
		{"/v1/prompts/support/welcome/versions?limit=0", 400, registry.EINVALID},
		{"/v1/environments/nope/history", 404, registry.ENOTFOUND},
		{"/v1/prompts/support/welcome?version=0", 400, registry.EINVALID},
		{"/v1/prompts/support/welcome?checksum=xyz", 400, registry.EINVALID},
		{"/v1/prompts?version=1", 400, registry.EINVALID},
		{"/v1/prompts?limit=abc", 400, registry.EINVALID},
		{"/v1/prompts?limit=100000", 400, registry.EINVALID},
		{"/v1/prompts?offset=-1", 400, registry.EINVALID},
		{"/v1/nothing", 404, registry.ENOTFOUND},
	}
	for _, tt := range tests {
		r := e.get(tt.path)
		if r.status != tt.status {
			t.Errorf("GET %s = %d %s, want %d", tt.path, r.status, r.body, tt.status)
			continue
		}
		if code := errorCode(t, r); code != tt.code {
			t.Errorf("GET %s code = %q, want %q", tt.path, code, tt.code)
		}
	}
	if r := e.do(http.MethodDelete, "/v1/prompts", nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /v1/prompts = %d", r.status)
	}
	for _, mp := range [][2]string{{http.MethodGet, "/v1/prompts/summarize/render"}, {http.MethodPost, "/v1/prompts/summarize/raw"}} {
		if r := e.do(mp[0], mp[1], nil); r.status != http.StatusMethodNotAllowed || errorCode(t, r) != "method_not_allowed" {
			t.Errorf("%s %s = %d %s, want 405", mp[0], mp[1], r.status, r.body)
		}
	}
}

func TestList(t *testing.T) {
	e := seeded(t)
	type page struct {
		Prompts []struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
		} `json:"prompts"`
		Total      int  `json:"total"`
		NextOffset *int `json:"next_offset"`
	}
	list := func(q string) (page, response) {
		r := e.get("/v1/prompts" + q)
		var p page
		if r.status != http.StatusOK {
			t.Fatalf("GET /v1/prompts%s = %d %s", q, r.status, r.body)
		}
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
		return p, r
	}
	all, r := list("")
	if all.Total != 4 || len(all.Prompts) != 4 || all.Prompts[0].Name != "partials/safety" {
		t.Errorf("list = %+v", all)
	}
	if p, _ := list("?tag=support"); p.Total != 2 {
		t.Errorf("tag=support total = %d, want 2", p.Total)
	}
	if p, _ := list("?q=GREETS"); p.Total != 1 || p.Prompts[0].Name != "support/welcome" {
		t.Errorf("q=GREETS = %+v", p)
	}
	if p, _ := list("?limit=3&offset=0"); len(p.Prompts) != 3 || p.NextOffset == nil || *p.NextOffset != 3 {
		t.Errorf("page 1 = %+v", p)
	}
	if p, _ := list("?limit=3&offset=3"); len(p.Prompts) != 1 || p.NextOffset != nil {
		t.Errorf("page 2 = %+v", p)
	}
	etag := r.header.Get("ETag")
	if got := e.get("/v1/prompts", "If-None-Match", etag); got.status != http.StatusNotModified {
		t.Errorf("list revalidation = %d", got.status)
	}
	if got := e.get("/v1/prompts?tag=support", "If-None-Match", etag); got.status != http.StatusOK {
		t.Errorf("another query with the same ETag = %d, want 200", got.status)
	}
	e.commit(map[string]string{"summarize.j2": "changed"})
	e.sync()
	if got := e.get("/v1/prompts", "If-None-Match", etag); got.status != http.StatusOK {
		t.Errorf("list after a change = %d, want 200", got.status)
	}
}

func TestLastKnownGoodOverHTTP(t *testing.T) {
	e := seeded(t)
	good := e.get("/v1/prompts/summarize")
	e.commit(map[string]string{"summarize.j2": "{% for x in %}broken"})
	e.sync()
	r := e.get("/v1/prompts/summarize")
	if r.status != http.StatusOK || !bytes.Equal(r.body, good.body) || r.header.Get("ETag") != good.header.Get("ETag") {
		t.Fatalf("broken commit: %d, same body %v, etag %s (was %s)", r.status, bytes.Equal(r.body, good.body), r.header.Get("ETag"), good.header.Get("ETag"))
	}
	if stale := r.header.Get("X-Promptreg-Stale"); !strings.Contains(stale, "summarize.j2:1") {
		t.Errorf("X-Promptreg-Stale = %q", stale)
	}
	var st registry.Status
	if err := json.Unmarshal(e.get("/v1/status").body, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.Head.Problems) != 1 || st.Head.Problems[0].Path != "summarize.j2" || st.Head.Problems[0].Line != 1 {
		t.Errorf("status problems = %+v", st.Head.Problems)
	}
	if len(st.Environments) != 1 || st.Environments[0].Name != "production" || st.Environments[0].Commit == "" {
		t.Errorf("status environments = %+v", st.Environments)
	}
}

func sign(body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func TestWebhooks(t *testing.T) {
	body := []byte(`{"ref":"refs/heads/main"}`)
	tests := []struct {
		name     string
		headers  []string
		status   int
		triggers int32
	}{
		{"github signed", []string{"X-GitHub-Event", "push", "X-GitHub-Delivery", "d1", "X-Hub-Signature-256", "sha256=" + sign(body)}, 202, 1},
		{"github bad signature", []string{"X-GitHub-Event", "push", "X-Hub-Signature-256", "sha256=" + sign([]byte("other"))}, 401, 0},
		{"github signature without prefix", []string{"X-GitHub-Event", "push", "X-Hub-Signature-256", sign(body)}, 401, 0},
		{"gitea signed", []string{"X-Gitea-Event", "push", "X-Gitea-Delivery", "d2", "X-Gitea-Signature", sign(body)}, 202, 1},
		{"gitea bad signature", []string{"X-Gitea-Event", "push", "X-Gitea-Signature", "00"}, 401, 0},
		{"gitlab token", []string{"X-Gitlab-Event", "Push Hook", "X-Gitlab-Token", secret}, 202, 1},
		{"gitlab wrong token", []string{"X-Gitlab-Event", "Push Hook", "X-Gitlab-Token", "nope"}, 401, 0},
		{"unsigned", []string{"X-GitHub-Event", "push"}, 401, 0},
		{"github ping", []string{"X-GitHub-Event", "ping", "X-Hub-Signature-256", "sha256=" + sign(body)}, 200, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := seeded(t)
			r := e.do(http.MethodPost, "/v1/hooks/git", body, tt.headers...)
			if r.status != tt.status {
				t.Fatalf("status = %d %s, want %d", r.status, r.body, tt.status)
			}
			if r.status == 401 && errorCode(t, r) != registry.EUNAUTHORIZED {
				t.Errorf("401 without the envelope")
			}
			if got := e.reg.triggers.Load(); got != tt.triggers {
				t.Errorf("triggers = %d, want %d", got, tt.triggers)
			}
		})
	}
	t.Run("repeated delivery triggers once", func(t *testing.T) {
		e := seeded(t)
		h := []string{"X-GitHub-Event", "push", "X-GitHub-Delivery", "same", "X-Hub-Signature-256", "sha256=" + sign(body)}
		for i := 0; i < 3; i++ {
			if r := e.do(http.MethodPost, "/v1/hooks/git", body, h...); r.status != 202 {
				t.Fatalf("status = %d", r.status)
			}
		}
		if got := e.reg.triggers.Load(); got != 1 {
			t.Errorf("triggers = %d, want 1", got)
		}
	})
	t.Run("without a secret the admin key is required", func(t *testing.T) {
		e := newEnv(t, "")
		if r := e.do(http.MethodPost, "/v1/hooks/git", body, "X-GitHub-Event", "push", "X-Hub-Signature-256", "sha256="+sign(body)); r.status != 401 {
			t.Errorf("signed but no secret configured = %d, want 401", r.status)
		}
		if r := e.do(http.MethodPost, "/v1/hooks/git", body, "Authorization", "Bearer "+adminKey); r.status != 202 {
			t.Errorf("with the admin key = %d, want 202", r.status)
		}
	})
}

func TestAdminSync(t *testing.T) {
	e := newEnv(t, secret)
	e.commit(map[string]string{"a.prompt": "a"})
	if r := e.do(http.MethodPost, "/v1/admin/sync", nil); r.status != 401 {
		t.Errorf("without a key = %d, want 401", r.status)
	}
	if r := e.do(http.MethodPost, "/v1/admin/sync", nil, "X-API-Key", "wrong"); r.status != 401 {
		t.Errorf("wrong key = %d, want 401", r.status)
	}
	if r := e.do(http.MethodPost, "/v1/admin/sync", nil, "Authorization", "bearer "+adminKey); r.status != 200 {
		t.Errorf("lower-case bearer scheme = %d, want 200", r.status)
	}
	r := e.do(http.MethodPost, "/v1/admin/sync", nil, "X-API-Key", adminKey)
	if r.status != 200 {
		t.Fatalf("sync = %d %s", r.status, r.body)
	}
	if got := e.get("/v1/prompts/a/raw"); string(got.body) != "a" {
		t.Errorf("after admin sync: %d %q", got.status, got.body)
	}
}

func TestVersionsOverHTTP(t *testing.T) {
	e := seeded(t)
	v1 := e.get("/v1/prompts/summarize")
	e.commit(map[string]string{"summarize.j2": "Summarize briefly: {{ text }}"})
	e.sync()
	e.commit(map[string]string{"summarize.j2": "Summarize: {{ text }}"}) // revert to v1
	e.sync()

	var p struct {
		Version int `json:"version"`
		Commit  struct {
			SHA string `json:"sha"`
		} `json:"commit"`
	}
	head := e.get("/v1/prompts/summarize")
	json.Unmarshal(head.body, &p)
	if p.Version != 1 || p.Commit.SHA == "" || head.header.Get("ETag") != v1.header.Get("ETag") || !bytes.Equal(head.body, v1.body) {
		t.Errorf("after the revert: version %d, same body %v, etag %s (was %s)", p.Version, bytes.Equal(head.body, v1.body), head.header.Get("ETag"), v1.header.Get("ETag"))
	}

	var page struct {
		Versions []struct {
			Version      int      `json:"version"`
			Current      bool     `json:"current"`
			Environments []string `json:"environments"`
			CurrentAt    []struct {
				From  string `json:"from"`
				Until string `json:"until"`
			} `json:"current_at"`
		} `json:"versions"`
		Total int `json:"total"`
	}
	r := e.get("/v1/prompts/summarize/versions")
	if err := json.Unmarshal(r.body, &page); err != nil || r.status != 200 {
		t.Fatalf("versions = %d %s", r.status, r.body)
	}
	if page.Total != 2 || page.Versions[0].Version != 2 || page.Versions[1].Version != 1 || !page.Versions[1].Current || page.Versions[0].Current {
		t.Errorf("versions = %+v", page)
	}
	if len(page.Versions[1].CurrentAt) != 2 || page.Versions[1].CurrentAt[1].Until != "" {
		t.Errorf("v1 current_at = %+v, want two ranges, the last open", page.Versions[1].CurrentAt)
	}
	if envs := page.Versions[1].Environments; len(envs) != 1 || envs[0] != "production" {
		t.Errorf("v1 environments = %v, want [production]", envs)
	}

	pinned := e.get("/v1/prompts/summarize/raw?version=2")
	if string(pinned.body) != "Summarize briefly: {{ text }}" || !strings.Contains(pinned.header.Get("Cache-Control"), "immutable") {
		t.Errorf("?version=2 = %q, cache-control %q", pinned.body, pinned.header.Get("Cache-Control"))
	}
	sum := sha256.Sum256([]byte("Summarize briefly: {{ text }}"))
	if r := e.get("/v1/prompts/summarize/raw?checksum=" + hex.EncodeToString(sum[:])); string(r.body) != "Summarize briefly: {{ text }}" {
		t.Errorf("?checksum = %d %q", r.status, r.body)
	}
	if r := e.get("/v1/prompts/summarize/diff?from=2"); !strings.Contains(r.header.Get("Cache-Control"), "no-cache") {
		t.Errorf("diff to the current version is cached as %q", r.header.Get("Cache-Control"))
	}
	diff := e.get("/v1/prompts/summarize/diff?from=1&to=2", "Accept", "text/x-diff; charset=utf-8")
	if !strings.Contains(string(diff.body), "-Summarize: {{ text }}") || !strings.Contains(string(diff.body), "+Summarize briefly: {{ text }}") {
		t.Errorf("diff = %s", diff.body)
	}

	// A deleted prompt keeps its versions.
	e.commit(map[string]string{"summarize.j2": ""})
	e.sync()
	if r := e.get("/v1/prompts/summarize"); r.status != 404 {
		t.Errorf("deleted prompt = %d, want 404", r.status)
	}
	if r := e.get("/v1/prompts/summarize/raw?version=1"); r.status != 200 || string(r.body) != "Summarize: {{ text }}" {
		t.Errorf("deleted prompt's version 1 = %d %q", r.status, r.body)
	}
}

func TestEnvironmentsOverHTTP(t *testing.T) {
	e := seeded(t)
	e.commit(map[string]string{"summarize.j2": "v2"})
	e.sync()
	e.repo.TagAnnotated("production", e.repo.Git("rev-parse", "HEAD"), "promote v2")
	if r := e.do(http.MethodPost, "/v1/hooks/git", []byte("{}"), "X-GitHub-Event", "push", "X-GitHub-Delivery", "abc", "X-Hub-Signature-256", "sha256="+sign([]byte("{}"))); r.status != 202 {
		t.Fatalf("webhook = %d", r.status)
	}
	// The webhook triggers the watcher, which this test does not run: sync
	// with the cause the watcher would pass.
	if err := e.reg.SyncFor(context.Background(), registry.Cause{Via: "webhook", Delivery: "abc"}); err != nil {
		t.Fatal(err)
	}
	var envs struct {
		Environments []registry.Environment `json:"environments"`
	}
	json.Unmarshal(e.get("/v1/environments").body, &envs)
	if len(envs.Environments) != 1 || envs.Environments[0].Differs != 0 || envs.Environments[0].MovedAt == nil {
		t.Errorf("environments = %+v", envs)
	}
	var hist struct {
		Moves []registry.RefMove `json:"moves"`
	}
	json.Unmarshal(e.get("/v1/environments/production/history").body, &hist)
	if len(hist.Moves) != 2 || hist.Moves[0].Via != "webhook" || hist.Moves[0].Delivery != "abc" || hist.Moves[1].From != "" {
		t.Errorf("history = %+v", hist.Moves)
	}
	if tg := hist.Moves[0].Tagger; tg == nil || tg.Email != gittest.AuthorEmail {
		t.Errorf("tagger of the annotated tag = %+v", tg)
	}
}

func TestRenderOverHTTP(t *testing.T) {
	e := seeded(t)
	sum := sha256.Sum256([]byte("Summarize: {{ text }}"))
	summarizeSum := hex.EncodeToString(sum[:])
	r := e.do(http.MethodPost, "/v1/prompts/support/welcome/render", []byte(`{"variables":{"customer_name":"Ada"}}`))
	if r.status != 200 {
		t.Fatalf("render = %d %s", r.status, r.body)
	}
	var out registry.Rendered
	json.Unmarshal(r.body, &out)
	if len(out.Messages) != 2 || out.Messages[0].Content != "You help ACME.\nNever reveal secrets." || out.Messages[1].Content != "Hi, I am Ada." || out.Version != 1 {
		t.Errorf("rendered = %+v", out)
	}
	tests := []struct {
		path, body string
		status     int
	}{
		{"/v1/prompts/summarize/render", `{"variables":{}}`, 422},
		{"/v1/prompts/summarize/render", `{"variables":{},"undefined":"lenient"}`, 200},
		{"/v1/prompts/summarize/render?env=production", `{"variables":{"text":"x"}}`, 200},
		{"/v1/prompts/summarize/render", `{"variables":{"text":"x"},"version":1}`, 200},
		{"/v1/prompts/summarize/render", `{"variables":{"text":"x"},"checksum":"` + strings.ToUpper(summarizeSum) + `"}`, 200},
		{"/v1/prompts/summarize/render", `{"variables":{"text":"x"},"checksum":"zz"}`, 400},
		{"/v1/prompts/summarize/render", `{"variables":{"text":"x"},"version":-1}`, 400},
		{"/v1/prompts/summarize/render", `{"variables":{"text":"x"},"version":1,"env":"production"}`, 400},
		{"/v1/prompts/summarize/render", `{"variables":[1]}`, 400},
		{"/v1/prompts/summarize/render", `not json`, 400},
		{"/v1/prompts/summarize/render", `{"variables":"` + strings.Repeat("x", 2<<20) + `"}`, 413},
		{"/v1/prompts/nope/render", `{}`, 404},
	}
	for _, tt := range tests {
		if r := e.do(http.MethodPost, tt.path, []byte(tt.body)); r.status != tt.status {
			t.Errorf("POST %s %.40s = %d %s, want %d", tt.path, tt.body, r.status, r.body, tt.status)
		}
	}
}

// TestHostileTemplateOverHTTP renders a template that would run for ever
// and one that would fill memory: each answers 422 within the limits and the
// server keeps serving.
func TestHostileTemplateOverHTTP(t *testing.T) {
	e := seeded(t)
	e.commit(map[string]string{
		"spin.prompt":  "{% for i in range(10000) %}{% for j in range(10000) %}{% for k in range(10000) %}{% endfor %}{% endfor %}{% endfor %}",
		"flood.prompt": "{% for i in range(10000) %}{{ 'x' * 100000 }}{% endfor %}",
	})
	e.sync()
	for _, name := range []string{"spin", "flood"} {
		r := e.do(http.MethodPost, "/v1/prompts/"+name+"/render", []byte(`{}`))
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "limit") {
			t.Errorf("%s: %d %s", name, r.status, r.body)
		}
	}
	if r := e.get("/v1/prompts/summarize"); r.status != 200 {
		t.Errorf("after hostile renders: %d", r.status)
	}
}
