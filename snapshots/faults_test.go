package snapshots_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/promptreg/promptreg/internal/memsource"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/render"
	"github.com/promptreg/promptreg/snapshots"
)

// TestStatusAfterARestartWithTheRemoteDown: the times of the last good
// fetch and sync survive a restart, so that status says how stale the
// served state is when the remote cannot be reached.
func TestStatusAfterARestartWithTheRemoteDown(t *testing.T) {
	src := memsource.New()
	src.Add(main, map[string]string{"a.prompt": "a"})
	path := filepath.Join(t.TempDir(), "db")
	clock := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return clock }

	db := openDB(t, path)
	r := snapshots.New(snapshots.Options{Source: src, Parser: render.Parser{}, History: db, Git: src, Now: now})
	mustSync(t, r)
	synced := clock
	db.Close()

	clock = clock.Add(time.Hour)
	src.SetFetchError(registry.Errorf(registry.EUNAVAILABLE, "remote unreachable"))
	r2 := snapshots.New(snapshots.Options{Source: src, Parser: render.Parser{}, History: openDB(t, path), Git: src, Now: now})
	if err := r2.Sync(context.Background()); registry.ErrorCode(err) != registry.EUNAVAILABLE {
		t.Fatalf("Sync with the remote down: %v, want EUNAVAILABLE", err)
	}
	st := r2.Status()
	if !st.Ready {
		t.Fatal("not serving what the clone has")
	}
	if st.LastFetchSuccess == nil || !st.LastFetchSuccess.Equal(synced) || st.LastSync == nil || !st.LastSync.Equal(synced) {
		t.Fatalf("status after the restart: last fetch %v, last sync %v; want both %v", st.LastFetchSuccess, st.LastSync, synced)
	}
	if *st.LastFetchAgeSeconds != 3600 || *st.LastSyncAge != 3600 {
		t.Errorf("ages = %v, %v; want 3600 s", *st.LastFetchAgeSeconds, *st.LastSyncAge)
	}
	if st.LastError == "" || st.ConsecutiveFailures != 1 {
		t.Errorf("last error %q, failures %d; want the fetch error, 1", st.LastError, st.ConsecutiveFailures)
	}
}

// failingStore is the real store whose index writes fail while fail is set,
// as when promptreg.db is read-only or the disk is full.
type failingStore struct {
	registry.HistoryStore
	fail bool
}

var errReadOnly = errors.New("attempt to write a readonly database")

// Health says the database cannot be written while fail is set, as
// sqlite.Store does after a failed write.
func (s *failingStore) Health() error {
	if s.fail {
		return &registry.Error{Code: registry.EUNAVAILABLE, Message: "database file promptreg.db is read-only", Err: errReadOnly}
	}
	return nil
}

func (s *failingStore) ApplyIndex(ctx context.Context, branch string, b *registry.IndexBatch) error {
	if s.fail {
		return &registry.Error{Code: registry.EINTERNAL, Message: "save history index", Err: errReadOnly}
	}
	return s.HistoryStore.ApplyIndex(ctx, branch, b)
}

// TestUnwritableIndexAtStartServesWhatItCovers: a restart whose index
// cannot be written serves the last indexed commit, every prompt numbered
// and marked stale, says why in status, and catches up once writes work.
func TestUnwritableIndexAtStartServesWhatItCovers(t *testing.T) {
	src := memsource.New()
	indexed := src.Add(main, map[string]string{"a.prompt": "one"})
	path := filepath.Join(t.TempDir(), "db")
	db := openDB(t, path)
	mustSync(t, snapshots.New(snapshots.Options{Source: src, Parser: render.Parser{}, History: db, Git: src}))
	db.Close()

	src.Add(main, map[string]string{"a.prompt": "two"})
	store := &failingStore{HistoryStore: openDB(t, path), fail: true}
	r := snapshots.New(snapshots.Options{Source: src, Parser: render.Parser{}, History: store, Git: src})
	err := r.Sync(context.Background())
	if err == nil || !errors.Is(err, errReadOnly) {
		t.Fatalf("Sync with an unwritable index: %v, want the write error", err)
	}
	if !r.Ready() {
		t.Fatal("not ready: the persisted index covers a commit that can be served")
	}
	s, _, err := r.Resolve(context.Background(), registry.Selector{})
	if err != nil {
		t.Fatal(err)
	}
	e, ok := s.Get("a")
	if !ok || s.Commit.SHA != indexed || string(e.Prompt.Raw) != "one" || e.Prompt.Version != 1 || e.Stale == "" {
		t.Fatalf("served commit %s, prompt %+v stale %q; want version 1 of the indexed commit %s, marked stale", s.Commit.SHA, e.Prompt, e.Stale, indexed)
	}
	if st := r.Status(); st.LastError == "" || st.Head == nil || len(st.Head.Stale) != 1 || st.DatabaseError != "database file promptreg.db is read-only" {
		t.Errorf("status does not say why: last error %q, database error %q, head %+v", st.LastError, st.DatabaseError, st.Head)
	}

	store.fail = false
	mustSync(t, r)
	if e := get(t, r, registry.Selector{}, "a"); string(e.Prompt.Raw) != "two" || e.Prompt.Version != 2 || e.Stale != "" {
		t.Errorf("after writes work again: %q version %d stale %q; want version 2, not stale", e.Prompt.Raw, e.Prompt.Version, e.Stale)
	}
	if st := r.Status(); st.DatabaseError != "" || st.LastError != "" {
		t.Errorf("status after recovery: database error %q, last error %q; want none", st.DatabaseError, st.LastError)
	}
}

// countingSource counts the commits whose snapshot is built (one Commit
// read per build).
type countingSource struct {
	*memsource.Source
	mu     sync.Mutex
	builds map[string]int
}

func (c *countingSource) Commit(ctx context.Context, sha string) (registry.Commit, error) {
	c.mu.Lock()
	c.builds[sha]++
	c.mu.Unlock()
	return c.Source.Commit(ctx, sha)
}

// TestOnDemandBuildsOncePerCommit: many requests for a commit no served ref
// is at build its snapshot once.
func TestOnDemandBuildsOncePerCommit(t *testing.T) {
	mem := memsource.New()
	old := mem.Add(main, map[string]string{"a.prompt": "one"})
	mem.Add(main, map[string]string{"a.prompt": "two"})
	src := &countingSource{Source: mem, builds: map[string]int{}}
	r := snapshots.New(snapshots.Options{Source: src, Parser: render.Parser{}})
	defer r.Close()
	mustSync(t, r)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _, err := r.Resolve(context.Background(), registry.Selector{Ref: old})
			if err != nil {
				t.Error(err)
				return
			}
			if e, ok := s.Get("a"); !ok || string(e.Prompt.Raw) != "one" {
				t.Errorf("?ref=%s served %v", old, e)
			}
		}()
	}
	wg.Wait()
	if n := src.builds[old]; n != 1 {
		t.Errorf("32 requests for one commit built it %d times, want 1", n)
	}
}
