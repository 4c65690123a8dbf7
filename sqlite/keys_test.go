package sqlite

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/promptreg/promptreg/registry"
)

// apiKey returns a key with id, its hash derived from id, reading prompts.
func apiKey(id string) registry.APIKey {
	return registry.APIKey{
		ID:     id,
		Name:   "key " + id,
		Scopes: []string{registry.ScopePromptsRead},
		Hash:   checksum("prk_" + id + "_secret"),
	}
}

// createKeys stores ks, failing the test on an error.
func createKeys(t *testing.T, s *Store, ks ...registry.APIKey) {
	t.Helper()
	for _, k := range ks {
		if err := s.CreateKey(context.Background(), k); err != nil {
			t.Fatalf("CreateKey(%s): %v", k.ID, err)
		}
	}
}

// keys returns the stored keys, failing the test on an error.
func keys(t *testing.T, s *Store) []registry.APIKey {
	t.Helper()
	ks, err := s.Keys(context.Background())
	if err != nil {
		t.Fatalf("Keys: %v", err)
	}
	return ks
}

// keyIDs returns the IDs of ks.
func keyIDs(ks []registry.APIKey) []string {
	ids := []string{}
	for _, k := range ks {
		ids = append(ids, k.ID)
	}
	return ids
}

// lastUsed returns the LastUsedAt of the stored key id (nil if never used).
func lastUsed(t *testing.T, s *Store, id string) *time.Time {
	t.Helper()
	for _, k := range keys(t, s) {
		if k.ID == id {
			return k.LastUsedAt
		}
	}
	t.Fatalf("no key %s", id)
	return nil
}

func TestKeys(t *testing.T) {
	ctx := context.Background()
	cet := time.FixedZone("CET", 3600)

	t.Run("round trip keeps every field, times in UTC", func(t *testing.T) {
		clk := newClock()
		s := openAt(t, dbPath(t), clk)
		expires := time.Date(2026, 1, 31, 23, 59, 59, 987654321, cet)
		used := time.Date(2025, 1, 1, 0, 0, 0, 0, cet)
		full := registry.APIKey{
			ID:           "k1",
			Name:         "CI deploys",
			Scopes:       []string{registry.ScopePromptsRead, registry.ScopePromote},
			ExpiresAt:    &expires,
			AllowedCIDRs: []string{"10.0.0.0/8", "2001:db8::/32"},
			CreatedAt:    time.Date(2025, 2, 1, 8, 30, 0, 5, cet),
			LastUsedAt:   &used, // ignored: a new key was never used
			Hash:         checksum("prk_k1_secret"),
		}
		bare := apiKey("k2") // no expiry, networks or creation time
		createKeys(t, s, full, bare)

		expiresUTC := expires.UTC()
		wantFull := full
		wantFull.ExpiresAt = &expiresUTC
		wantFull.CreatedAt = full.CreatedAt.UTC()
		wantFull.LastUsedAt = nil
		wantBare := bare
		wantBare.CreatedAt = clk.Now()
		got := keys(t, s)
		if want := []registry.APIKey{wantFull, wantBare}; !reflect.DeepEqual(got, want) {
			t.Errorf("Keys =\n%+v\nwant\n%+v", got, want)
		}
		for _, k := range got {
			if k.CreatedAt.Location() != time.UTC || (k.ExpiresAt != nil && k.ExpiresAt.Location() != time.UTC) {
				t.Errorf("key %s: times not in UTC: %v, %v", k.ID, k.CreatedAt, k.ExpiresAt)
			}
		}
	})

	t.Run("an empty store has none", func(t *testing.T) {
		s := open(t)
		if got := keys(t, s); len(got) != 0 {
			t.Errorf("Keys = %+v, want none", got)
		}
	})

	t.Run("are listed oldest first, then by id", func(t *testing.T) {
		clk := newClock()
		s := openAt(t, dbPath(t), clk)
		b, a, old, later := apiKey("b"), apiKey("a"), apiKey("old"), apiKey("later")
		b.CreatedAt, a.CreatedAt = clk.Now(), clk.Now()
		old.CreatedAt = clk.Now().Add(-time.Hour)
		later.CreatedAt = clk.Now().In(cet).Add(time.Nanosecond) // another zone sorts by instant
		createKeys(t, s, b, later, a, old)
		if got, want := keyIDs(keys(t, s)), []string{"old", "a", "b", "later"}; !reflect.DeepEqual(got, want) {
			t.Errorf("Keys = %v, want %v", got, want)
		}
	})

	t.Run("a duplicate id or hash is a conflict that says which", func(t *testing.T) {
		s := open(t)
		k := apiKey("k1")
		createKeys(t, s, k)

		sameID := apiKey("k1")
		sameID.Hash = checksum("another key")
		wantCode(t, s.CreateKey(ctx, sameID), registry.ECONFLICT, `id "k1" exists`)

		sameHash := apiKey("k2")
		sameHash.Hash = k.Hash
		err := s.CreateKey(ctx, sameHash)
		wantCode(t, err, registry.ECONFLICT, "k2", "same hash")

		both := apiKey("k1")
		wantCode(t, s.CreateKey(ctx, both), registry.ECONFLICT, `id "k1" exists`)

		if got, want := keyIDs(keys(t, s)), []string{"k1"}; !reflect.DeepEqual(got, want) {
			t.Errorf("Keys = %v, want %v", got, want)
		}
		if got := keys(t, s)[0]; got.Hash != k.Hash || got.Name != k.Name {
			t.Errorf("stored key changed to %+v", got)
		}
	})

	t.Run("bad input is refused and stores nothing", func(t *testing.T) {
		s := open(t)
		for _, tt := range []struct {
			name string
			edit func(*registry.APIKey)
			want string
		}{
			{"no id", func(k *registry.APIKey) { k.ID = "" }, "no id"},
			{"no hash", func(k *registry.APIKey) { k.Hash = "" }, "no hash"},
			{"no name", func(k *registry.APIKey) { k.Name = "" }, "no name"},
			{"nil scopes", func(k *registry.APIKey) { k.Scopes = nil }, "no scopes"},
			{"empty scopes", func(k *registry.APIKey) { k.Scopes = []string{} }, "no scopes"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				k := apiKey("k1")
				tt.edit(&k)
				wantCode(t, s.CreateKey(ctx, k), registry.EINVALID, tt.want)
			})
		}
		if got := keys(t, s); len(got) != 0 {
			t.Errorf("Keys = %v, want none", keyIDs(got))
		}
	})

	t.Run("delete removes one key; an unknown one is not found", func(t *testing.T) {
		s := open(t)
		createKeys(t, s, apiKey("k1"), apiKey("k2"))
		if err := s.DeleteKey(ctx, "k1"); err != nil {
			t.Fatalf("DeleteKey: %v", err)
		}
		if got, want := keyIDs(keys(t, s)), []string{"k2"}; !reflect.DeepEqual(got, want) {
			t.Errorf("Keys = %v, want %v", got, want)
		}
		wantCode(t, s.DeleteKey(ctx, "k1"), registry.ENOTFOUND, "k1")
		wantCode(t, s.DeleteKey(ctx, "nope"), registry.ENOTFOUND, "nope")
		// Its id and hash are free again.
		createKeys(t, s, apiKey("k1"))
	})

	t.Run("touch keeps the latest time and skips unknown ids", func(t *testing.T) {
		s := open(t)
		createKeys(t, s, apiKey("k1"), apiKey("k2"), apiKey("k3"))
		t1 := time.Date(2025, 3, 2, 9, 0, 0, 100, cet)
		t2 := t1.Add(time.Minute)

		if err := s.TouchKeys(ctx, map[string]time.Time{"k1": t1, "k2": t2, "gone": t2}); err != nil {
			t.Fatalf("TouchKeys: %v", err)
		}
		for id, want := range map[string]time.Time{"k1": t1, "k2": t2} {
			if got := lastUsed(t, s, id); got == nil || !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("%s: LastUsedAt = %v, want %v in UTC", id, got, want.UTC())
			}
		}
		if got := lastUsed(t, s, "k3"); got != nil {
			t.Errorf("k3: LastUsedAt = %v, want nil (not touched)", got)
		}

		// An earlier time (a touch that arrived late) does not move it back;
		// a later one does; a zero one is ignored.
		if err := s.TouchKeys(ctx, map[string]time.Time{"k1": t2, "k2": t1, "k3": {}}); err != nil {
			t.Fatalf("TouchKeys: %v", err)
		}
		for id, want := range map[string]time.Time{"k1": t2, "k2": t2} {
			if got := lastUsed(t, s, id); got == nil || !got.Equal(want) {
				t.Errorf("%s: LastUsedAt = %v, want %v", id, got, want.UTC())
			}
		}
		if got := lastUsed(t, s, "k3"); got != nil {
			t.Errorf("k3: LastUsedAt = %v after a zero time, want nil", got)
		}

		if got := keyIDs(keys(t, s)); len(got) != 3 {
			t.Errorf("Keys = %v, want k1, k2, k3 (an unknown id creates nothing)", got)
		}
	})

	t.Run("touch with nothing does nothing", func(t *testing.T) {
		s := open(t)
		for _, m := range []map[string]time.Time{nil, {}} {
			if err := s.TouchKeys(ctx, m); err != nil {
				t.Errorf("TouchKeys(%v): %v", m, err)
			}
		}
	})

	t.Run("keys persist across a reopen", func(t *testing.T) {
		path := dbPath(t)
		clk := newClock()
		s, err := Open(ctx, Options{Path: path, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		expires := clk.Now().Add(24 * time.Hour)
		k := apiKey("k1")
		k.ExpiresAt = &expires
		k.AllowedCIDRs = []string{"192.168.0.0/16"}
		createKeys(t, s, k, apiKey("k2"))
		if err := s.TouchKeys(ctx, map[string]time.Time{"k1": clk.Now().Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		want := keys(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		s = openAt(t, path, clk)
		got := keys(t, s)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Keys after reopen =\n%+v\nwant\n%+v", got, want)
		}
		if len(got) != 2 || got[0].LastUsedAt == nil || got[0].ExpiresAt == nil {
			t.Errorf("Keys after reopen = %+v, want k1 with its expiry and last use", got)
		}
	})
}
