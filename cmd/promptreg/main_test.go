package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/promptreg/promptreg/internal/gittest"
)

func getenvFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestFlagsFromEnvironment(t *testing.T) {
	m := &Serve{Stderr: io.Discard}
	env := map[string]string{"PROMPTREG_REPO": "/from/env", "PROMPTREG_ADMIN_KEY": "k", "PROMPTREG_POLL": "3s", "PROMPTREG_ADDR": "127.0.0.1:1"}
	if err := m.ParseFlags([]string{"--addr", "127.0.0.1:2"}, getenvFrom(env)); err != nil {
		t.Fatal(err)
	}
	if m.Repo != "/from/env" || m.AdminKey != "k" || m.Poll.String() != "3s" {
		t.Errorf("env not applied: %+v", m)
	}
	if c := committer(m.GitAuthor); c.Name != "promptreg" || c.Email != "promptreg@localhost" {
		t.Errorf("default committer = %+v", c)
	}
	if m.Addr != "127.0.0.1:2" {
		t.Errorf("addr = %q: a flag given on the command line must win over the environment", m.Addr)
	}
	for _, args := range [][]string{{}, {"--repo", "x", "--poll", "-1s"}, {"--repo", "x", "--log-level", "loud"}, {"--repo", "x", "extra"}, {"--repo", "x", "--snapshot-cache-mb", "0"}, {"--repo", "x", "--fetch-unknown-refs=maybe"}, {"--repo", "x", "--git-author", "no email"}, {"--repo", "x", "--git-author", "<a@b>"}} {
		if err := (&Serve{Stderr: io.Discard}).ParseFlags(args, getenvFrom(nil)); err == nil {
			t.Errorf("ParseFlags(%q) succeeded, want a usage error", args)
		}
	}
	if code := run(context.Background(), []string{"serve", "--poll", "soon"}, getenvFrom(nil), nil, io.Discard, io.Discard); code != exitUsage {
		t.Errorf("bad flag exit code = %d, want %d", code, exitUsage)
	}
	if code := run(context.Background(), []string{"frobnicate"}, getenvFrom(nil), nil, io.Discard, io.Discard); code != exitUsage {
		t.Errorf("unknown command exit code = %d, want %d", code, exitUsage)
	}
}

func startServe(t *testing.T, args ...string) *Serve {
	t.Helper()
	m := &Serve{Stderr: io.Discard}
	if err := m.ParseFlags(append([]string{"--addr", "127.0.0.1:0", "--poll", "0"}, args...), getenvFrom(nil)); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return m
}

func httpGet(t *testing.T, url string) (int, http.Header, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// TestServeSeedRestart seeds a repository from the bundled examples, serves
// it, stops, and starts again on the same data with the repository gone:
// the earlier clone is served with the same entity tags.
func TestServeSeedRestart(t *testing.T) {
	dir := t.TempDir()
	repo, data := filepath.Join(dir, "repo"), filepath.Join(dir, "data")
	m := startServe(t, "--repo", repo, "--seed", "../../examples/prompts", "--data", data)
	if err := m.Keeper().Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	base := "http://" + m.ListenAddr()
	code, h, body := httpGet(t, base+"/v1/prompts/support/welcome")
	if code != 200 || !strings.Contains(body, `"format":"chat"`) {
		t.Fatalf("GET welcome = %d %s", code, body)
	}
	etag := h.Get("ETag")
	if code, _, _ := httpGet(t, base+"/readyz"); code != 200 {
		t.Errorf("readyz = %d", code)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// The remote disappears; the data directory still has the clone.
	if err := os.RemoveAll(repo); err != nil {
		t.Fatal(err)
	}
	m2 := startServe(t, "--repo", repo, "--data", data)
	defer m2.Close()
	err := m2.Keeper().Sync(context.Background())
	if err == nil {
		t.Error("Sync with the repository gone succeeded; want the fetch error reported")
	}
	code, h, _ = httpGet(t, "http://"+m2.ListenAddr()+"/v1/prompts/support/welcome")
	if code != 200 || h.Get("ETag") != etag {
		t.Errorf("after restart: %d etag %s, want 200 %s", code, h.Get("ETag"), etag)
	}
	_, _, status := httpGet(t, "http://"+m2.ListenAddr()+"/v1/status")
	if !strings.Contains(status, `"last_error"`) {
		t.Errorf("status does not report the fetch error: %s", status)
	}
}

// TestServePicksUpCommits serves a working repository and follows a commit
// made into it.
func TestServePicksUpCommits(t *testing.T) {
	repo := gittest.New(t)
	repo.Write("hello.prompt", "Hello {{ name }}")
	repo.Commit("first")
	m := startServe(t, "--repo", repo.Path(), "--data", t.TempDir())
	defer m.Close()
	if err := m.Keeper().Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	repo.Write("hello.prompt", "Hi {{ name }}")
	repo.Commit("second")
	if err := m.Keeper().Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, body := httpGet(t, "http://"+m.ListenAddr()+"/v1/prompts/hello/raw"); body != "Hi {{ name }}" {
		t.Errorf("raw = %q, want the new commit's content", body)
	}
}

func TestLint(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"lint", "../../examples/prompts"}, getenvFrom(nil), nil, &out, &errOut); code != exitOK {
		t.Errorf("lint examples = %d: %s%s", code, out.String(), errOut.String())
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "ok.prompt"), []byte("fine {{ x }}"), 0o644)
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "bad.prompt"), []byte("---\ndescription: x\n---\nline\n{% if x %}"), 0o644)
	os.WriteFile(filepath.Join(dir, "dup.prompt"), []byte("---\nname: ok\n---\nx"), 0o644)
	out.Reset()
	if code := run(context.Background(), []string{"lint", dir}, getenvFrom(nil), nil, &out, io.Discard); code != exitProblems {
		t.Errorf("lint with problems = %d, want %d", code, exitProblems)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[2], "sub/bad.prompt:5:") {
		t.Errorf("lint output = %q, want one path:line:col line per problem", out.String())
	}
	if code := run(context.Background(), []string{"lint", filepath.Join(dir, "missing")}, getenvFrom(nil), nil, io.Discard, io.Discard); code != exitUsage {
		t.Errorf("lint of a missing folder = %d, want %d", code, exitUsage)
	}
}

func TestRenderCommand(t *testing.T) {
	repo := gittest.New(t)
	repo.Write("greet.prompt", "system:\nYou greet.\n\nuser:\nHi, I am {{ name }}.")
	repo.Write("text.j2", "Hello {{ name }}")
	first := repo.Commit("first")
	repo.Write("text.j2", "Bonjour {{ name }}")
	repo.Commit("second")
	vars := filepath.Join(t.TempDir(), "vars.json")
	os.WriteFile(vars, []byte(`{"name":"Ada"}`), 0o644)
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"render", "text", "--repo", repo.Path(), "--vars", vars}, exitOK, "Bonjour Ada\n"},
		{[]string{"render", "text", "--repo", repo.Path(), "--ref", first[:8], "--vars", vars}, exitOK, "Hello Ada\n"},
		{[]string{"render", "greet", "--repo", repo.Path(), "--vars", vars}, exitOK, "system:\nYou greet.\n\nuser:\nHi, I am Ada.\n"},
		{[]string{"render", "text", "--repo", repo.Path()}, exitProblems, ""},
		{[]string{"render", "text", "--repo", repo.Path(), "--undefined", "lenient"}, exitOK, "Bonjour \n"},
		{[]string{"render", "nope", "--repo", repo.Path()}, exitProblems, ""},
		{[]string{"render", "text", "--repo", repo.Path(), "--ref", "nope"}, exitProblems, ""},
		{[]string{"render"}, exitUsage, ""},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if code := run(context.Background(), tt.args, getenvFrom(nil), strings.NewReader(""), &out, io.Discard); code != tt.code || out.String() != tt.want {
			t.Errorf("%q: exit %d output %q, want %d %q", tt.args, code, out.String(), tt.code, tt.want)
		}
	}
	var out bytes.Buffer
	run(context.Background(), []string{"render", "text", "--repo", repo.Path(), "--json", "--vars", "-"}, getenvFrom(nil), strings.NewReader(`{"name":"Bo"}`), &out, io.Discard)
	if !strings.Contains(out.String(), `"text": "Bonjour Bo"`) {
		t.Errorf("--json output = %s", out.String())
	}
}

// TestWebhookTriggersSync runs the real watcher: a signed push webhook makes
// the server fetch and serve the new commit without any poll.
func TestWebhookTriggersSync(t *testing.T) {
	repo := gittest.New(t)
	repo.Write("hello.prompt", "v1")
	repo.Commit("first")
	m := startServe(t, "--repo", repo.Path(), "--data", t.TempDir(), "--webhook-secret", "s3cret")
	defer m.Close()
	base := "http://" + m.ListenAddr()
	waitFor(t, func() bool { code, _, _ := httpGet(t, base+"/readyz"); return code == 200 })

	repo.Write("hello.prompt", "v2")
	repo.Commit("second")
	body := []byte(`{"ref":"refs/heads/main"}`)
	mac := hmac.New(sha256.New, []byte("s3cret"))
	mac.Write(body)
	req, _ := http.NewRequest(http.MethodPost, base+"/v1/hooks/git", bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", "delivery-1")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("webhook = %d, want 202", res.StatusCode)
	}
	waitFor(t, func() bool { _, _, b := httpGet(t, base+"/v1/prompts/hello/raw"); return b == "v2" })
}

// waitFor waits for cond, which an asynchronous event makes true, failing
// the test after ten seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLintPins(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("promptreg.yaml", "environments:\n  production: production\n")
	write("a.prompt", "a")
	sum := strings.Repeat("ab", 32)
	write("promptreg.pins.yaml", "default:\n  a: "+sum+"\nenvironments:\n  production:\n    a: null\n")
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"lint", dir}, getenvFrom(nil), nil, &out, &errOut); code != exitOK {
		t.Fatalf("lint with valid pins = %d: %s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(errOut.String(), "pin: default serves a at abababababab, not the content here") ||
		!strings.Contains(errOut.String(), "pin: production serves no a (a draft)") {
		t.Errorf("lint does not list the pins: %s", errOut.String())
	}
	for _, tc := range []struct{ pins, want string }{
		{"default: [\n", "promptreg.pins.yaml:1:"},
		{"default:\n  nope: null\n", `pins "nope", which is not a prompt here`},
		{"environments:\n  qa:\n    a: null\n", `environment "qa", which promptreg.yaml does not configure`},
		{"default:\n  a: 123\n", "64 hex digits"},
	} {
		write("promptreg.pins.yaml", tc.pins)
		out.Reset()
		if code := run(context.Background(), []string{"lint", dir}, getenvFrom(nil), nil, &out, io.Discard); code != exitProblems || !strings.Contains(out.String(), tc.want) {
			t.Errorf("lint of pins %q = %d %q, want %d naming %q", tc.pins, code, out.String(), exitProblems, tc.want)
		}
	}
}

func TestServeRefusesABadProvidersFile(t *testing.T) {
	repo := gittest.New(t)
	repo.Write("a.prompt", "a")
	repo.Commit("seed")
	path := filepath.Join(t.TempDir(), "providers.yaml")
	os.WriteFile(path, []byte("providers:\n  ollama:\n    base_url: http://127.0.0.1:1\n"), 0o644)
	m := &Serve{Stderr: io.Discard}
	if err := m.ParseFlags([]string{"--repo", repo.Path(), "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--providers", path}, getenvFrom(nil)); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "--providers") || !strings.Contains(err.Error(), "wire") {
		t.Errorf("Run with a provider without a wire = %v, want an error naming --providers and the wire", err)
	}
	for _, args := range [][]string{{"--record-inputs", "some"}, {"--exec-workers", "0"}, {"--provider-timeout", "0s"}, {"--max-streams", "0"}, {"--cors-origins", "app.example"}, {"--rate-limits", "reads=3"}, {"--trusted-proxies", "10.0.0.1"}} {
		m := &Serve{Stderr: io.Discard}
		if err := m.ParseFlags(append([]string{"--repo", repo.Path()}, args...), getenvFrom(nil)); err == nil {
			t.Errorf("ParseFlags(%v) accepted", args)
		}
	}
}

func TestKeysCommand(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	run1 := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(ctx, append([]string{"keys"}, args...), getenvFrom(nil), nil, &out, &errOut)
		return code, out.String(), errOut.String()
	}
	code, out, errOut := run1("create", "--data", data, "--name", "ci", "--scopes", "prompts:read,executions:write", "--expires", "24h")
	raw := strings.TrimSpace(out)
	if code != exitOK || !strings.HasPrefix(raw, "prk_") || !strings.Contains(errOut, "shown once") {
		t.Fatalf("create = %d %q %q", code, out, errOut)
	}
	code, out, _ = run1("list", "--data", data)
	if code != exitOK || !strings.Contains(out, "ci") || !strings.Contains(out, "prompts:read,executions:write") || strings.Contains(out, raw) {
		t.Errorf("list = %d %q", code, out)
	}
	id := strings.Split(strings.TrimPrefix(raw, "prk_"), "_")[0]

	// A running server on the same data directory honours the key, and
	// the command works against it too.
	repo := gittest.New(t)
	repo.Write("a.prompt", "a")
	repo.Commit("seed")
	m := startServe(t, "--repo", repo.Path(), "--data", data, "--admin-key", "adm")
	defer m.Close()
	if err := m.Keeper().Sync(ctx); err != nil {
		t.Fatal(err)
	}
	base := "http://" + m.ListenAddr()
	get := func(key string) int {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/prompts/a", nil)
		req.Header.Set("X-API-Key", key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := get(raw); got != http.StatusOK {
		t.Errorf("read with the CLI's key: %d", got)
	}
	code, out, errOut = run1("list", "--url", base, "--admin-key", "adm", "--json")
	if code != exitOK || !strings.Contains(out, `"id":"`+id+`"`) {
		t.Errorf("list --url = %d %q %q", code, out, errOut)
	}
	if code, _, errOut = run1("revoke", id, "--url", base, "--admin-key", "adm"); code != exitOK {
		t.Fatalf("revoke --url = %d %q", code, errOut)
	}
	if got := get(raw); got != http.StatusUnauthorized {
		t.Errorf("read with a revoked key: %d", got)
	}
	if code, _, errOut = run1("revoke", id, "--url", base, "--admin-key", "wrong"); code != exitProblems || !strings.Contains(errOut, "invalid API key") {
		t.Errorf("revoke with a wrong admin key = %d %q", code, errOut)
	}
	for _, args := range [][]string{{}, {"list"}, {"list", "--data", data, "--url", base}, {"revoke", "--data", data}, {"frob", "--data", data}} {
		if code, _, _ := run1(args...); code != exitUsage {
			t.Errorf("keys %v = %d, want %d", args, code, exitUsage)
		}
	}
	if code, _, errOut := run1("create", "--data", data, "--name", "x", "--scopes", "nope"); code != exitProblems || !strings.Contains(errOut, "unknown scope") {
		t.Errorf("create with a bad scope = %d %q", code, errOut)
	}
}

func TestServeRefusesAnOpenNetworkAddress(t *testing.T) {
	repo := gittest.New(t)
	repo.Write("a.prompt", "a")
	repo.Commit("seed")
	m := &Serve{Stderr: io.Discard}
	if err := m.ParseFlags([]string{"--repo", repo.Path(), "--data", t.TempDir(), "--addr", "0.0.0.0:0"}, getenvFrom(nil)); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "--public-read") {
		t.Errorf("Run on 0.0.0.0 without keys = %v, want a refusal naming --public-read", err)
	}
	for addr, want := range map[string]bool{"127.0.0.1:8080": true, "[::1]:80": true, "localhost:1": true, "0.0.0.0:80": false, ":8080": false, "10.0.0.1:80": false} {
		if got := loopback(addr); got != want {
			t.Errorf("loopback(%q) = %v", addr, got)
		}
	}
}
