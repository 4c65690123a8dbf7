package httpapi_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/promptreg/promptreg/registry"
)

// TestETagNamesOneBodyAcrossAMerge: content fetched from a feature branch
// before it is on the tracked branch has no version, so its body differs
// from the numbered one the merge gives it; its ETag must differ too, and a
// cache holding it must get the numbered body, not a 304, after the merge.
func TestETagNamesOneBodyAcrossAMerge(t *testing.T) {
	e := seeded(t)
	e.commit(map[string]string{"promptreg.yaml": "environments:\n  production: refs/tags/production\n  staging: refs/tags/staging\n"})
	e.repo.Git("checkout", "-q", "-b", "feature")
	const edited = "Summarize briefly: {{ text }}"
	feature := e.commit(map[string]string{"summarize.j2": edited})
	e.repo.Tag("staging", feature) // a configured environment serves the edit
	e.repo.Git("checkout", "-q", "main")
	e.sync()
	sum := registry.Checksum([]byte(edited))

	before := e.get("/v1/prompts/summarize?ref=feature")
	if before.status != http.StatusOK {
		t.Fatalf("GET ?ref=feature = %d %s", before.status, before.body)
	}
	var p struct {
		Version  int    `json:"version"`
		Checksum string `json:"checksum"`
		Commit   any    `json:"commit"`
	}
	if err := json.Unmarshal(before.body, &p); err != nil {
		t.Fatal(err)
	}
	if p.Version != 0 || p.Commit != nil || p.Checksum != sum {
		t.Fatalf("before the merge: version %d, commit %v, checksum %s; want no version, no commit, %s", p.Version, p.Commit, p.Checksum, sum)
	}
	unnumbered := before.header.Get("ETag")
	if unnumbered == `"`+sum+`"` {
		t.Fatalf("the unnumbered body has the numbered body's ETag %s", unnumbered)
	}
	if want := registry.UnnumberedETag(`"`+sum+`"`, "summarize.j2"); unnumbered != want {
		t.Errorf("ETag before the merge = %s, want %s", unnumbered, want)
	}
	if r := e.get("/v1/prompts/summarize?ref=feature", "If-None-Match", unnumbered); r.status != http.StatusNotModified {
		t.Errorf("revalidating before the merge = %d, want 304", r.status)
	}

	if r := e.get("/v1/prompts/summarize?env=staging"); r.header.Get("ETag") != unnumbered {
		t.Errorf("staging before the merge: ETag %s, want the unnumbered %s", r.header.Get("ETag"), unnumbered)
	}

	// A merge commit: the feature commit stays off the first-parent
	// history, so ?ref=feature is still built on demand (and was cached).
	e.repo.Git("merge", "-q", "--no-ff", "-m", "merge feature", "feature")
	e.sync()

	for _, path := range []string{"/v1/prompts/summarize?ref=feature", "/v1/prompts/summarize?env=staging", "/v1/prompts/summarize?version=2", "/v1/prompts/summarize"} {
		r := e.get(path, "If-None-Match", unnumbered)
		if r.status != http.StatusOK {
			t.Errorf("GET %s with the unnumbered ETag after the merge = %d, want 200 with the numbered body", path, r.status)
			continue
		}
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
		if p.Version != 2 || p.Commit == nil || p.Checksum != sum {
			t.Errorf("GET %s after the merge: version %d, commit %v; want version 2 with its commit", path, p.Version, p.Commit)
		}
		if got := r.header.Get("ETag"); got != `"`+sum+`"` {
			t.Errorf("GET %s after the merge: ETag %s, want %q", path, got, `"`+sum+`"`)
		}
	}
}

// TestStatusOfAnUnresolvedEnvironment: absent values are omitted and lists
// are [], never null or a zero time.
func TestStatusOfAnUnresolvedEnvironment(t *testing.T) {
	e := seeded(t)
	e.commit(map[string]string{"promptreg.yaml": "environments:\n  production: refs/tags/production\n  staging: refs/tags/staging\n"})
	e.sync()
	r := e.get("/v1/status")
	var st struct {
		Environments []map[string]any `json:"environments"`
	}
	if err := json.Unmarshal(r.body, &st); err != nil {
		t.Fatal(err)
	}
	var staging map[string]any
	for _, env := range st.Environments {
		if env["name"] == "staging" {
			staging = env
		}
	}
	if staging == nil {
		t.Fatalf("status lists no staging environment: %s", r.body)
	}
	for _, absent := range []string{"commit", "commit_time"} {
		if v, ok := staging[absent]; ok {
			t.Errorf("staging has %s = %v, want it omitted", absent, v)
		}
	}
	for _, list := range []string{"problems", "stale"} {
		if v, ok := staging[list].([]any); !ok || len(v) != 0 {
			t.Errorf("staging %s = %#v, want []", list, staging[list])
		}
	}
	if staging["error"] == "" || staging["error"] == nil {
		t.Errorf("staging has no error saying why it is not served: %v", staging)
	}
}

// TestUnnumberedETagCoversThePath: the same bytes served unnumbered from
// two paths are two bodies (each carries its path), so two ETags.
func TestUnnumberedETagCoversThePath(t *testing.T) {
	e := seeded(t)
	const content = "---\nname: shared\n---\nHello {{ x }}"
	etags := map[string]string{}
	for _, branch := range []string{"one", "two"} {
		e.repo.Git("checkout", "-q", "-b", branch, "main")
		e.commit(map[string]string{branch + ".prompt": content})
		e.repo.Git("checkout", "-q", "main")
	}
	e.sync()
	for _, branch := range []string{"one", "two"} {
		r := e.get("/v1/prompts/shared?ref=" + branch)
		if r.status != http.StatusOK {
			t.Fatalf("GET shared?ref=%s = %d %s", branch, r.status, r.body)
		}
		etags[branch] = r.header.Get("ETag")
	}
	if etags["one"] == etags["two"] {
		t.Errorf("one ETag %s for two bodies (paths one.prompt and two.prompt)", etags["one"])
	}
}

// TestStatusBeforeTheFirstSync: what has not happened yet is omitted, never
// null.
func TestStatusBeforeTheFirstSync(t *testing.T) {
	e := newEnv(t, secret)
	r := e.get("/v1/status")
	if r.status != http.StatusOK {
		t.Fatalf("status = %d %s", r.status, r.body)
	}
	var st map[string]any
	if err := json.Unmarshal(r.body, &st); err != nil {
		t.Fatal(err)
	}
	for k, v := range st {
		if v == nil {
			t.Errorf("%s is null, want it omitted: %s", k, r.body)
		}
	}
	if st["ready"] != false {
		t.Errorf("ready = %v before the first sync", st["ready"])
	}
	if envs, ok := st["environments"].([]any); !ok || len(envs) != 0 {
		t.Errorf("environments = %#v, want []", st["environments"])
	}
}

// TestUnavailableSaysWhenToRetry: a 503 (nothing synced yet, too many
// lookups or builds running) carries Retry-After, as a 429 does.
func TestUnavailableSaysWhenToRetry(t *testing.T) {
	e := newEnv(t, secret)
	r := e.get("/v1/prompts/a")
	if r.status != http.StatusServiceUnavailable || errorCode(t, r) != registry.EUNAVAILABLE {
		t.Fatalf("GET before the first sync = %d %s", r.status, r.body)
	}
	if got := r.header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After = %q, want 1", got)
	}
}
