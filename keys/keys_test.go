package keys_test

import (
	"context"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/promptreg/promptreg/keys"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/sqlite"
)

func openDB(t *testing.T) *sqlite.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "promptreg.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestRing(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	r := keys.New(keys.Options{Store: db, Now: clock})
	local := netip.MustParseAddr("10.1.2.3")

	raw, k, err := r.Create(ctx, keys.CreateRequest{Name: "ci", Scopes: []string{registry.ScopePromptsRead, registry.ScopePromptsRead}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(raw, registry.KeyPrefix+k.ID+"_") || len(k.Scopes) != 1 || k.Hash != keys.Hash(raw) {
		t.Fatalf("created %q %+v", raw, k)
	}
	got, err := r.Check(raw, local)
	if err != nil || got.ID != k.ID || !got.Has(registry.ScopePromptsRead) || got.Has(registry.ScopeAdmin) {
		t.Fatalf("Check = %+v, %v", got, err)
	}
	if _, err := r.Check(raw+"x", local); registry.ErrorCode(err) != registry.EUNAUTHORIZED {
		t.Errorf("a wrong key: %v", err)
	}
	stored, _ := db.Keys(ctx)
	for _, s := range stored {
		if s.Hash == raw || strings.Contains(s.Hash, raw) {
			t.Error("the store holds the key itself")
		}
	}

	// Expiry and networks.
	exp := now.Add(time.Hour)
	rawExp, _, err := r.Create(ctx, keys.CreateRequest{Name: "soon", Scopes: []string{"*"}, ExpiresAt: &exp, AllowedCIDRs: []string{"10.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Check(rawExp, netip.MustParseAddr("192.168.1.1")); registry.ErrorCode(err) != registry.EFORBIDDEN {
		t.Errorf("outside its networks: %v", err)
	}
	if _, err := r.Check(rawExp, netip.MustParseAddr("::ffff:10.9.9.9")); err != nil {
		t.Errorf("inside its networks (IPv4-mapped): %v", err)
	}
	now = now.Add(2 * time.Hour)
	if _, err := r.Check(rawExp, local); registry.ErrorCode(err) != registry.EUNAUTHORIZED || !strings.Contains(registry.ErrorMessage(err), "expired") {
		t.Errorf("expired: %v", err)
	}

	// Last use is written in batches, on Close.
	r.Start()
	r.Check(raw, local)
	r.Close()
	stored, _ = db.Keys(ctx)
	for _, s := range stored {
		if s.ID == k.ID && (s.LastUsedAt == nil || !s.LastUsedAt.Equal(now)) {
			t.Errorf("last used = %v, want %v", s.LastUsedAt, now)
		}
	}

	// Revocation works at once.
	if err := r.Delete(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Check(raw, local); registry.ErrorCode(err) != registry.EUNAUTHORIZED {
		t.Errorf("a revoked key: %v", err)
	}
	if err := r.Delete(ctx, k.ID); registry.ErrorCode(err) != registry.ENOTFOUND {
		t.Errorf("revoke twice: %v", err)
	}

	// Another writer (the CLI): seen on the next load.
	raw2, _, err := keys.Create(ctx, db, keys.CreateRequest{Name: "cli", Scopes: []string{registry.ScopeAdmin}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Check(raw2, local); err == nil {
		t.Error("a key another writer made works before a reload")
	}
	r.Load(ctx)
	if _, err := r.Check(raw2, local); err != nil {
		t.Errorf("after a reload: %v", err)
	}
}

func TestCreateRefusesBadRequests(t *testing.T) {
	db := openDB(t)
	past := time.Now().Add(-time.Hour)
	for _, req := range []keys.CreateRequest{
		{Scopes: []string{"*"}},
		{Name: "x"},
		{Name: "x", Scopes: []string{"prompts:delete"}},
		{Name: "x", Scopes: []string{"*"}, ExpiresAt: &past},
		{Name: "x", Scopes: []string{"*"}, AllowedCIDRs: []string{"10.0.0.0/33"}},
		{Name: "two\nlines", Scopes: []string{"*"}},
	} {
		if _, _, err := keys.Create(context.Background(), db, req, time.Now()); registry.ErrorCode(err) != registry.EINVALID {
			t.Errorf("Create(%+v) = %v, want EINVALID", req, err)
		}
	}
	if ks, _ := db.Keys(context.Background()); len(ks) != 0 {
		t.Errorf("refused requests stored %d keys", len(ks))
	}
}
