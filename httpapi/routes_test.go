package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRouteTable walks the route table: every route has a known scope,
// every route echo serves comes from the table, and every route whose scope
// needs a credential refuses a request without one before doing anything.
func TestRouteTable(t *testing.T) {
	s := New(Options{AdminKey: "k"})
	known := map[Scope]bool{ScopePublic: true, ScopeRead: true, ScopeWrite: true, ScopePromote: true, ScopeAdmin: true, ScopeWebhook: true, ScopeExecute: true, ScopeExecRead: true}
	fromTable := map[string]bool{}
	for _, r := range s.routes() {
		if !known[r.scope] {
			t.Errorf("%s %s: unknown scope %q", r.method, r.path, r.scope)
		}
		if (r.handle == nil) == (r.prompt == nil) {
			t.Errorf("%s %s: needs exactly one of handle and prompt", r.method, r.path)
		}
		if strings.HasPrefix(r.path, promptPrefix) != (r.prompt != nil) {
			t.Errorf("%s %s: prompt handlers serve exactly the paths under %s", r.method, r.path, promptPrefix)
		}
		p := echoPath(r.path)
		if strings.HasPrefix(r.path, promptPrefix) {
			p = "/v1/prompts/*"
		}
		fromTable[r.method+" "+p] = true
		if r.method == http.MethodGet {
			fromTable[http.MethodHead+" "+p] = true
		}

		switch r.scope {
		case ScopeWrite, ScopePromote, ScopeExecute, ScopeExecRead, ScopeAdmin:
			path := strings.NewReplacer("{name}", "some/prompt", "{env}", "production", "{id}", "ex_0123456789ab0123456789abcdef0123", "*", "some/prompt").Replace(r.path)
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, httptest.NewRequest(r.method, path, strings.NewReader(`{}`)))
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("%s %s without a key: %d, want 401", r.method, path, rec.Code)
			}
		}
	}
	for _, er := range s.echo.Routes() {
		if !fromTable[er.Method+" "+er.Path] {
			t.Errorf("echo serves %s %s, which is not in the route table", er.Method, er.Path)
		}
	}
}
