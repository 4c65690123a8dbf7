package httpapi_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/promptreg/promptreg/httpapi"
	"github.com/promptreg/promptreg/keys"
	"github.com/promptreg/promptreg/render"
	"github.com/promptreg/promptreg/snapshots"
)

// newKeyedEnv serves a repository with the admin key and stored keys, reads
// not public.
func newKeyedEnv(t *testing.T) (*env, *keys.Ring) {
	t.Helper()
	repo := newRepoWith(t, map[string]string{"hello.prompt": "Hello {{ name }}"})
	store, db := openStores(t, repo.Path())
	keeper := snapshots.New(snapshots.Options{Source: store, Parser: render.Parser{}, History: db, Git: store})
	t.Cleanup(keeper.Close)
	if err := keeper.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	ring := keys.New(keys.Options{Store: db})
	s := httpapi.New(httpapi.Options{Snapshots: keeper, History: keeper.History(), AdminKey: adminKey, Keys: ring})
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return &env{t: t, reg: &countingKeeper{Keeper: keeper}, srv: srv}, ring
}

func TestAccessControl(t *testing.T) {
	e, _ := newKeyedEnv(t)
	bearer := func(k string) []string { return []string{"Authorization", "Bearer " + k} }

	// With keys configured, reads need one too.
	if r := e.get("/v1/prompts/hello"); r.status != http.StatusUnauthorized || !strings.Contains(string(r.body), `"unauthorized"`) {
		t.Errorf("read without a key: %d %s", r.status, r.body)
	}
	if r := e.get("/healthz"); r.status != http.StatusUnauthorized {
		t.Errorf("/healthz without a key and without --public-metrics: %d", r.status)
	}

	// The keys API: the key is shown once, never listed.
	r := e.do(http.MethodPost, "/v1/admin/keys", []byte(`{"name":"reader","scopes":["prompts:read"]}`), bearer(adminKey)...)
	if r.status != http.StatusCreated {
		t.Fatalf("create key: %d %s", r.status, r.body)
	}
	var created struct {
		ID, Key string
		Scopes  []string
	}
	json.Unmarshal(r.body, &created)
	if !strings.HasPrefix(created.Key, "prk_"+created.ID+"_") {
		t.Fatalf("created = %+v", created)
	}
	r = e.get("/v1/admin/keys", bearer(adminKey)...)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), created.ID) || strings.Contains(string(r.body), created.Key) {
		t.Errorf("list keys: %d %s", r.status, r.body)
	}

	// The key reads, in either header; it does not write or administer.
	if r := e.get("/v1/prompts/hello", bearer(created.Key)...); r.status != http.StatusOK {
		t.Errorf("read with the key: %d %s", r.status, r.body)
	}
	if r := e.get("/v1/prompts/hello", "X-API-Key", created.Key); r.status != http.StatusOK {
		t.Errorf("read with X-API-Key: %d", r.status)
	}
	if r := e.get("/v1/admin/keys", bearer(created.Key)...); r.status != http.StatusForbidden || !strings.Contains(string(r.body), "admin") {
		t.Errorf("admin route with a read key: %d %s", r.status, r.body)
	}
	if r := e.get("/healthz", bearer(created.Key)...); r.status != http.StatusOK {
		t.Errorf("/healthz with any key: %d", r.status)
	}

	// Bad requests to the keys API change nothing.
	for _, body := range []string{`{"scopes":["prompts:read"]}`, `{"name":"x","scopes":["everything"]}`, `{"name":"x"}`,
		`{"name":"x","scopes":["*"],"expires_at":"2001-01-01T00:00:00Z"}`, `{"name":"x","scopes":["*"],"allowed_cidrs":["nope"]}`, `{"name":"x","scopes":["*"],"colour":1}`} {
		if r := e.do(http.MethodPost, "/v1/admin/keys", []byte(body), bearer(adminKey)...); r.status != http.StatusBadRequest {
			t.Errorf("create %s: %d %s", body, r.status, r.body)
		}
	}

	// Revocation is effective at once.
	if r := e.do(http.MethodDelete, "/v1/admin/keys/"+created.ID, nil, bearer(adminKey)...); r.status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.get("/v1/prompts/hello", bearer(created.Key)...); r.status != http.StatusUnauthorized {
		t.Errorf("read with a revoked key: %d", r.status)
	}
	if r := e.do(http.MethodDelete, "/v1/admin/keys/"+created.ID, nil, bearer(adminKey)...); r.status != http.StatusNotFound {
		t.Errorf("revoke twice: %d", r.status)
	}

	// A key limited to other networks is refused from here.
	r = e.do(http.MethodPost, "/v1/admin/keys", []byte(`{"name":"office","scopes":["*"],"allowed_cidrs":["192.0.2.0/24"]}`), bearer(adminKey)...)
	json.Unmarshal(r.body, &created)
	if r := e.get("/v1/prompts/hello", bearer(created.Key)...); r.status != http.StatusForbidden {
		t.Errorf("a key from outside its networks: %d %s", r.status, r.body)
	}
}

func TestCORS(t *testing.T) {
	repo := newRepoWith(t, map[string]string{"hello.prompt": "Hello"})
	store, db := openStores(t, repo.Path())
	keeper := snapshots.New(snapshots.Options{Source: store, Parser: render.Parser{}, History: db, Git: store})
	t.Cleanup(keeper.Close)
	keeper.Sync(context.Background())
	preflight := func(srv *httptest.Server, origin string) http.Header {
		req, _ := http.NewRequest(http.MethodOptions, srv.URL+"/v1/prompts/hello", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.Header
	}
	off := httptest.NewServer(httpapi.New(httpapi.Options{Snapshots: keeper, History: keeper.History()}).Handler())
	defer off.Close()
	if h := preflight(off, "https://app.example"); h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("CORS answered with no origin configured: %v", h)
	}
	on := httptest.NewServer(httpapi.New(httpapi.Options{Snapshots: keeper, History: keeper.History(), CORSOrigins: []string{"https://app.example"}}).Handler())
	defer on.Close()
	if h := preflight(on, "https://app.example"); h.Get("Access-Control-Allow-Origin") != "https://app.example" || !strings.Contains(strings.ToLower(h.Get("Access-Control-Allow-Headers")), "authorization") {
		t.Errorf("preflight from an allowed origin: %v", h)
	}
	if h := preflight(on, "https://evil.example"); h.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %v", h)
	}
}

func TestRateLimits(t *testing.T) {
	limits, err := httpapi.ParseRateLimits("prompts:read=2, anonymous=1")
	if err != nil {
		t.Fatal(err)
	}
	repo := newRepoWith(t, map[string]string{"hello.prompt": "Hello"})
	store, db := openStores(t, repo.Path())
	keeper := snapshots.New(snapshots.Options{Source: store, Parser: render.Parser{}, History: db, Git: store})
	t.Cleanup(keeper.Close)
	keeper.Sync(context.Background())
	srv := httptest.NewServer(httpapi.New(httpapi.Options{Snapshots: keeper, History: keeper.History(), AdminKey: adminKey, PublicRead: true, RateLimits: limits}).Handler())
	defer srv.Close()
	e := &env{t: t, srv: srv}

	// Anonymous: 1 per second, a burst of 2.
	var etag string
	statuses := []int{}
	for i := 0; i < 3; i++ {
		r := e.get("/v1/prompts/hello")
		statuses = append(statuses, r.status)
		if r.status == http.StatusOK {
			etag = r.header.Get("ETag")
		}
		if r.status == http.StatusTooManyRequests {
			if r.header.Get("Retry-After") == "" || r.header.Get("RateLimit-Remaining") != "0" || !strings.Contains(string(r.body), `"rate_limited"`) {
				t.Errorf("429 without its headers or envelope: %v %s", r.header, r.body)
			}
		}
	}
	if statuses[0] != 200 || statuses[1] != 200 || statuses[2] != http.StatusTooManyRequests {
		t.Errorf("anonymous statuses = %v, want 200 200 429", statuses)
	}
	// A revalidation still gets through, and is answered 304.
	if r := e.get("/v1/prompts/hello", "If-None-Match", etag); r.status != http.StatusNotModified {
		t.Errorf("conditional GET when a full one is limited: %d", r.status)
	}
	// A key has its own bucket: 2 per second, a burst of 4.
	for i := 0; i < 4; i++ {
		if r := e.get("/v1/prompts/hello", "Authorization", "Bearer "+adminKey); r.status != http.StatusOK || r.header.Get("RateLimit-Limit") != "4" {
			t.Errorf("keyed read %d: %d %v", i, r.status, r.header.Get("RateLimit-Limit"))
		}
	}
	for _, bad := range []string{"prompts:read", "reads=5", "prompts:read=0", "prompts:read=x", "*=3"} {
		if _, err := httpapi.ParseRateLimits(bad); err == nil {
			t.Errorf("ParseRateLimits(%q) accepted", bad)
		}
	}
}

// TestTrustedProxies: X-Forwarded-For names the client only behind a
// trusted proxy, for a key's allowed networks (and rate limits).
func TestTrustedProxies(t *testing.T) {
	repo := newRepoWith(t, map[string]string{"hello.prompt": "Hello"})
	store, db := openStores(t, repo.Path())
	keeper := snapshots.New(snapshots.Options{Source: store, Parser: render.Parser{}, History: db, Git: store})
	t.Cleanup(keeper.Close)
	keeper.Sync(context.Background())
	ring := keys.New(keys.Options{Store: db})
	raw, _, err := ring.Create(context.Background(), keys.CreateRequest{Name: "office", Scopes: []string{"*"}, AllowedCIDRs: []string{"203.0.113.0/24"}})
	if err != nil {
		t.Fatal(err)
	}
	get := func(opts httpapi.Options) int {
		srv := httptest.NewServer(httpapi.New(opts).Handler())
		defer srv.Close()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1/prompts/hello", nil)
		req.Header.Set("Authorization", "Bearer "+raw)
		req.Header.Set("X-Forwarded-For", "203.0.113.7")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	base := httpapi.Options{Snapshots: keeper, History: keeper.History(), Keys: ring}
	if code := get(base); code != http.StatusForbidden {
		t.Errorf("X-Forwarded-For from an untrusted peer: %d, want 403 (the header is ignored)", code)
	}
	_, loop, _ := net.ParseCIDR("127.0.0.0/8")
	base.TrustedProxies = []*net.IPNet{loop}
	if code := get(base); code != http.StatusOK {
		t.Errorf("X-Forwarded-For from a trusted proxy: %d, want 200", code)
	}
}
