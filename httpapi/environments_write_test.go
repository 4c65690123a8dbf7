package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

const envConfig = "environments:\n  production: production\n  staging: staging\n  dev: main\n"

// newPromoteEnv serves a remote whose production tag and staging branch
// are at the seed commit (hello version 1); main has hello version 2.
func newPromoteEnv(t *testing.T) (e *writeEnv, c1, c2 string) {
	t.Helper()
	e = newWriteEnv(t, map[string]string{"promptreg.yaml": envConfig, "hello.prompt": "Hello {{ name }}"})
	c1 = e.remote("rev-parse", "main")
	e.remote("tag", "production", c1)
	e.remote("branch", "staging", c1)
	e.sync()
	w := decodeWrite(t, e.write(http.MethodPut, "/v1/prompts/hello", map[string]any{"content": "Hi {{ name }}"}), http.StatusOK)
	return e, c1, w.Commit
}

type moveResult struct {
	Environment, Ref, From, To string
	Changed, Served            bool
}

func decodeMove(t *testing.T, r response, status int) moveResult {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	var m moveResult
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestPromoteAndRollback(t *testing.T) {
	e, c1, c2 := newPromoteEnv(t)
	if v := e.version("/v1/prompts/hello?env=production"); v != 1 {
		t.Fatalf("production serves version %d before the promotion", v)
	}

	// A commit, abbreviated: the tag becomes an annotated tag by the
	// author, pushed, served before the answer, and in the ledger.
	m := decodeMove(t, e.write(http.MethodPost, "/v1/environments/production/promote",
		map[string]any{"commit": c2[:10], "created_by": "Ada <ada@example.com>", "message": "Release the greeting"}), http.StatusOK)
	if !m.Changed || !m.Served || m.From != c1 || m.To != c2 || m.Ref != "refs/tags/production" {
		t.Fatalf("promote = %+v", m)
	}
	if got := e.remote("for-each-ref", "--format=%(objecttype) %(taggername) %(contents:subject) %(*objectname)", "refs/tags/production"); got != "tag Ada Release the greeting "+c2 {
		t.Errorf("remote tag = %q", got)
	}
	if v := e.version("/v1/prompts/hello?env=production"); v != 2 {
		t.Errorf("production serves version %d after the promotion, want 2", v)
	}
	r := e.get("/v1/environments/production/history")
	if !strings.Contains(string(r.body), `"via":"api"`) || !strings.Contains(string(r.body), `"by":"Ada \u003cada@example.com\u003e"`) {
		t.Errorf("ledger does not record the API move and who: %s", r.body)
	}
	// The same again changes nothing.
	if m := decodeMove(t, e.write(http.MethodPost, "/v1/environments/production/promote", map[string]any{"commit": c2}), http.StatusOK); m.Changed || !m.Served {
		t.Errorf("promote to where it is = %+v", m)
	}

	// From another environment: staging fast-forwards to production.
	if m := decodeMove(t, e.write(http.MethodPost, "/v1/environments/staging/promote", map[string]any{"from": "production"}), http.StatusOK); !m.Changed || m.To != c2 {
		t.Errorf("promote staging from production = %+v", m)
	}
	if got := e.remote("rev-parse", "staging"); got != c2 {
		t.Errorf("remote staging = %s, want %s", got, c2)
	}
	// Back is not a fast-forward: only with force.
	r = e.write(http.MethodPost, "/v1/environments/staging/promote", map[string]any{"commit": c1})
	if r.status != http.StatusConflict || !strings.Contains(string(r.body), "force") {
		t.Errorf("non-fast-forward branch move: %d %s, want 409 naming force", r.status, r.body)
	}
	decodeMove(t, e.write(http.MethodPost, "/v1/environments/staging/promote", map[string]any{"commit": c1, "force": true}), http.StatusOK)

	// Rollback returns production to where its last move took it from;
	// a second rollback undoes the first.
	if m := decodeMove(t, e.write(http.MethodPost, "/v1/environments/production/rollback", nil), http.StatusOK); m.To != c1 || !m.Served {
		t.Errorf("rollback = %+v, want back to %s", m, c1)
	}
	if v := e.version("/v1/prompts/hello?env=production"); v != 1 {
		t.Errorf("production serves version %d after the rollback, want 1", v)
	}
	if m := decodeMove(t, e.write(http.MethodPost, "/v1/environments/production/rollback", nil), http.StatusOK); m.To != c2 {
		t.Errorf("second rollback = %+v, want %s", m, c2)
	}

	// One prompt, through a pin: production serves version 1 of hello
	// while its tag stays at c2; unpinned, it serves its commit's again.
	r = e.write(http.MethodPost, "/v1/environments/production/promote", map[string]any{"prompt": "hello", "version": 1})
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"served":true`) {
		t.Fatalf("single-prompt promote: %d %s", r.status, r.body)
	}
	if v := e.version("/v1/prompts/hello?env=production"); v != 1 {
		t.Errorf("production serves version %d with the pin, want 1", v)
	}
	if got := e.remote("rev-parse", "production^{commit}"); got != c2 {
		t.Errorf("a single-prompt promotion moved the tag to %s", got)
	}
	if v := e.version("/v1/prompts/hello"); v != 2 {
		t.Errorf("the default selection serves version %d, want 2: the pin is production's", v)
	}
	decodeMove(t, e.write(http.MethodPost, "/v1/environments/production/promote", map[string]any{"prompt": "hello", "unpin": true}), http.StatusOK)
	if v := e.version("/v1/prompts/hello?env=production"); v != 2 {
		t.Errorf("production serves version %d after unpinning, want 2", v)
	}

	r = e.write(http.MethodGet, "/v1/audit?limit=20", nil)
	for _, want := range []string{`"action":"promote"`, `"action":"rollback"`, `"environment":"production"`} {
		if !strings.Contains(string(r.body), want) {
			t.Errorf("audit lacks %s: %s", want, r.body)
		}
	}
	e.remote("fsck", "--strict")
}

func TestBadPromotionsChangeNothing(t *testing.T) {
	e, _, c2 := newPromoteEnv(t)
	refs := e.remote("for-each-ref")
	for _, tc := range []struct {
		name, path string
		body       any
		status     int
	}{
		{"unknown environment", "/v1/environments/nope/promote", map[string]any{"commit": c2}, 404},
		{"commit and from", "/v1/environments/production/promote", map[string]any{"commit": c2, "from": "staging"}, 400},
		{"neither", "/v1/environments/production/promote", map[string]any{}, 400},
		{"unknown commit", "/v1/environments/production/promote", map[string]any{"commit": "deadbeef"}, 404},
		{"not a sha", "/v1/environments/production/promote", map[string]any{"commit": "main~1"}, 400},
		{"from itself", "/v1/environments/production/promote", map[string]any{"from": "production"}, 400},
		{"from unknown", "/v1/environments/production/promote", map[string]any{"from": "nope"}, 404},
		{"the tracked branch", "/v1/environments/dev/promote", map[string]any{"commit": c2}, 400},
		{"unknown field", "/v1/environments/production/promote", map[string]any{"commit": c2, "sha": c2}, 400},
		{"prompt with commit", "/v1/environments/production/promote", map[string]any{"prompt": "hello", "version": 1, "commit": c2}, 400},
		{"prompt without version", "/v1/environments/production/promote", map[string]any{"prompt": "hello"}, 400},
		{"unknown version", "/v1/environments/production/promote", map[string]any{"prompt": "hello", "version": 9}, 404},
		{"unknown prompt", "/v1/environments/production/promote", map[string]any{"prompt": "nope", "version": 1}, 404},
		{"pin in an unconfigured environment", "/v1/environments/qa/promote", map[string]any{"prompt": "hello", "version": 1}, 404},
		{"nothing to roll back", "/v1/environments/staging/rollback", nil, 409},
		{"rollback with a body it does not take", "/v1/environments/production/rollback", map[string]any{"commit": c2}, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.write(http.MethodPost, tc.path, tc.body)
			if r.status != tc.status || !strings.Contains(string(r.body), `"error"`) {
				t.Errorf("%d %s, want %d with the error envelope", r.status, r.body, tc.status)
			}
		})
	}
	if r := e.do(http.MethodPost, "/v1/environments/production/promote", []byte(`{"commit":"`+c2+`"}`), "Content-Type", "application/json"); r.status != http.StatusUnauthorized {
		t.Errorf("promote without the admin key: %d", r.status)
	}
	if now := e.remote("for-each-ref"); now != refs {
		t.Errorf("refs changed:\n%s\nwas\n%s", now, refs)
	}
}
