package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promptreg/promptreg/keys"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/sqlite"
)

// TestRouteTable walks the route table: every route has a known scope,
// every route echo serves comes from the table, and every route that needs
// a key answers a request without one 401, one with a key lacking its scope
// 403, and one with a key holding it neither (authorisation passes, whatever
// the handler then says about the empty request).
func TestRouteTable(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(t.TempDir(), "promptreg.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ring := keys.New(keys.Options{Store: db})
	s := New(Options{AdminKey: "the-admin-key", Keys: ring})
	// One key per scope, and one with every scope but admin.
	byScope := map[Scope]string{}
	for _, sc := range registry.KnownScopes {
		raw, _, err := ring.Create(ctx, keys.CreateRequest{Name: "only " + sc, Scopes: []string{sc}})
		if err != nil {
			t.Fatal(err)
		}
		byScope[Scope(sc)] = raw
	}
	known := map[Scope]bool{ScopePublic: true, ScopeProbe: true, ScopeRead: true, ScopeWrite: true, ScopePromote: true, ScopeAdmin: true,
		ScopeWebhook: true, ScopeExecute: true, ScopeExecRead: true, ScopeIngest: true}
	fromTable := map[string]bool{}
	call := func(r route, key string) int {
		path := strings.NewReplacer("{name}", "some/prompt", "{env}", "production", "{id}", "ex_0123456789ab0123456789abcdef0123", "*", "some/prompt").Replace(r.path)
		req := httptest.NewRequest(r.method, path, strings.NewReader(`{}`))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		return rec.Code
	}
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
		if r.scope == ScopePublic || r.scope == ScopeWebhook {
			continue
		}
		if got := call(r, ""); got != http.StatusUnauthorized {
			t.Errorf("%s %s without a key: %d, want 401", r.method, r.path, got)
		}
		if got := call(r, "prk_00000000_"+strings.Repeat("0", 48)); got != http.StatusUnauthorized {
			t.Errorf("%s %s with an unknown key: %d, want 401", r.method, r.path, got)
		}
		for sc, key := range byScope {
			got := call(r, key)
			holds := sc == Scope(registry.ScopeAll) || sc == r.scope || r.scope == ScopeProbe
			switch {
			case holds && (got == http.StatusUnauthorized || got == http.StatusForbidden):
				t.Errorf("%s %s with a key of scope %s: %d, want it authorised", r.method, r.path, sc, got)
			case !holds && got != http.StatusForbidden:
				t.Errorf("%s %s with a key of scope %s only: %d, want 403", r.method, r.path, sc, got)
			}
		}
		if got := call(r, "the-admin-key"); got == http.StatusUnauthorized || got == http.StatusForbidden {
			t.Errorf("%s %s with the admin key: %d, want it authorised", r.method, r.path, got)
		}
	}
	for _, er := range s.echo.Routes() {
		if !fromTable[er.Method+" "+er.Path] {
			t.Errorf("echo serves %s %s, which is not in the route table", er.Method, er.Path)
		}
	}
}
