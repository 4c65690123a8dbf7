package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/promptreg/promptreg/registry"
)

func TestOpen(t *testing.T) {
	ctx := context.Background()

	t.Run("applies every migration once and none again on reopen", func(t *testing.T) {
		path := dbPath(t)
		clk := newClock()
		s, err := Open(ctx, Options{Path: path, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		first := appliedMigrations(t, s)
		ms, err := migrations()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(first), len(ms); got != want {
			t.Fatalf("applied %d migrations, want %d", got, want)
		}
		if got, want := first[1], timeValue(clk.Now()); got != want {
			t.Errorf("migration 1 applied at %v, want %v (the injected clock)", got, want)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		clk.Advance(time.Hour)
		s = openAt(t, path, clk)
		if got, want := fmt.Sprint(appliedMigrations(t, s)), fmt.Sprint(first); got != want {
			t.Errorf("after reopen, migrations %v, want %v unchanged", got, want)
		}
	})

	t.Run("every connection has the pragmas", func(t *testing.T) {
		s := open(t)
		wconn, err := s.writer.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		checkPragmas(t, "writer", wconn, 0)
		var pages int
		if err := wconn.QueryRowContext(ctx, "PRAGMA wal_autocheckpoint").Scan(&pages); err != nil || pages != 4000 {
			t.Errorf("writer: PRAGMA wal_autocheckpoint = %d, %v; want 4000", pages, err)
		}
		wconn.Close()
		// Hold several reader connections at once so that each is a
		// distinct connection of the pool.
		var conns []*sql.Conn
		for i := range 3 {
			c, err := s.reader.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			checkPragmas(t, fmt.Sprintf("reader %d", i), c, 1)
		}
		for _, c := range conns {
			c.Close()
		}
	})

	t.Run("readers cannot write", func(t *testing.T) {
		s := open(t)
		_, err := s.reader.ExecContext(ctx, "INSERT INTO branches (name, created_at, updated_at) VALUES ('x', '', '')")
		if err == nil {
			t.Fatal("insert through a reader succeeded, want an error")
		}
	})

	t.Run("a database from a newer program is refused", func(t *testing.T) {
		path := dbPath(t)
		s := openAt(t, path, nil)
		if _, err := s.writer.ExecContext(ctx,
			"INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', '')"); err != nil {
			t.Fatal(err)
		}
		s.Close()
		s2, err := Open(ctx, Options{Path: path})
		if err == nil {
			s2.Close()
			t.Fatal("Open succeeded, want an error")
		}
		if got, want := registry.ErrorCode(err), registry.EINTERNAL; got != want {
			t.Errorf("code %q, want %q (%v)", got, want, err)
		}
	})

	t.Run("no path is invalid", func(t *testing.T) {
		_, err := Open(ctx, Options{})
		if got, want := registry.ErrorCode(err), registry.EINVALID; got != want {
			t.Errorf("code %q, want %q (%v)", got, want, err)
		}
	})

	t.Run("a missing directory is an internal error", func(t *testing.T) {
		_, err := Open(ctx, Options{Path: filepath.Join(t.TempDir(), "no", "such", "dir", "promptreg.db")})
		if got, want := registry.ErrorCode(err), registry.EINTERNAL; got != want {
			t.Errorf("code %q, want %q (%v)", got, want, err)
		}
	})

	t.Run("a path with URI characters stays a path", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data?x=1#frag %20")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, "promptreg.db")
		openAt(t, path, nil)
		if _, err := os.Stat(path); err != nil {
			t.Errorf("database file not at %s: %v", path, err)
		}
	})

	t.Run("close twice returns the first result", func(t *testing.T) {
		s, err := Open(ctx, Options{Path: dbPath(t)})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v, want nil", err)
		}
	})
}

// appliedMigrations returns schema_migrations as version → applied_at.
func appliedMigrations(t *testing.T, s *Store) map[int]string {
	t.Helper()
	rows, err := s.reader.Query("SELECT version, applied_at FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[int]string{}
	for rows.Next() {
		var v int
		var at string
		if err := rows.Scan(&v, &at); err != nil {
			t.Fatal(err)
		}
		m[v] = at
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// checkPragmas checks the pragmas the DSN sets on conn.
func checkPragmas(t *testing.T, what string, conn *sql.Conn, queryOnly int) {
	t.Helper()
	for _, p := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"busy_timeout", "5000"},
		{"synchronous", "1"}, // NORMAL
		{"foreign_keys", "1"},
		{"query_only", fmt.Sprint(queryOnly)},
	} {
		var got string
		if err := conn.QueryRowContext(context.Background(), "PRAGMA "+p.pragma).Scan(&got); err != nil {
			t.Fatalf("%s: PRAGMA %s: %v", what, p.pragma, err)
		}
		if got != p.want {
			t.Errorf("%s: PRAGMA %s = %s, want %s", what, p.pragma, got, p.want)
		}
	}
}

func TestReopen(t *testing.T) {
	ctx := context.Background()

	t.Run("keeps the index and the ledger", func(t *testing.T) {
		path := dbPath(t)
		clk := newClock()
		s, err := Open(ctx, Options{Path: path, Now: clk.Now})
		if err != nil {
			t.Fatal(err)
		}
		b := bigBatch(50, 10, 2)
		if err := s.ApplyIndex(ctx, "main", b); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordRefMove(ctx, registry.RefMove{Environment: "production", Ref: "refs/tags/production", To: sha("a"), Via: "poll"}); err != nil {
			t.Fatal(err)
		}
		before, err := s.LoadIndex(ctx, "main")
		if err != nil {
			t.Fatal(err)
		}
		movesBefore, err := s.RefMoves(ctx, registry.RefMoveQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		s = openAt(t, path, clk)
		after, err := s.LoadIndex(ctx, "main")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(after), fmt.Sprint(before); got != want {
			t.Errorf("index after reopen differs:\n got %.300s\nwant %.300s", got, want)
		}
		if got, want := len(after.Commits), 50; got != want {
			t.Errorf("%d commits after reopen, want %d", got, want)
		}
		movesAfter, err := s.RefMoves(ctx, registry.RefMoveQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(movesAfter), fmt.Sprint(movesBefore); got != want {
			t.Errorf("ledger after reopen: got %s, want %s", got, want)
		}
	})
}

func TestDBError(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	if err := s.ApplyIndex(ctx, "main", &registry.IndexBatch{Commits: commits("main", 1, 1)}); err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) error {
		_, err := s.writer.ExecContext(ctx, q, args...)
		return dbError("test", err)
	}
	coded := registry.Errorf(registry.ENOTFOUND, "no such thing")
	canceled, cancel := context.WithCancel(ctx)
	cancel()

	for _, tt := range []struct {
		name string
		err  error
		want string
	}{
		{"nil is nil", nil, ""},
		{"a unique violation is a conflict",
			exec("INSERT INTO commits (branch_id, seq, sha, author, email, message) SELECT branch_id, 2, sha, '', '', '' FROM commits"),
			registry.ECONFLICT},
		{"a foreign key violation is a conflict",
			exec("INSERT INTO spans (branch_id, name, version, from_seq) VALUES (1, 'nope', 1, 1)"),
			registry.ECONFLICT},
		{"a check violation is invalid",
			exec("INSERT INTO commits (branch_id, seq, sha, author, email, message) VALUES (1, 0, 'x', '', '', '')"),
			registry.EINVALID},
		{"a not null violation is invalid",
			exec("INSERT INTO commits (branch_id, seq, sha, author, email, message) VALUES (1, 5, NULL, '', '', '')"),
			registry.EINVALID},
		{"a coded error keeps its code", dbError("test", coded), registry.ENOTFOUND},
		{"an ended context is a timeout", dbError("test", s.read(canceled, "x", func(*sql.Tx) error { return nil })), registry.ETIMEOUT},
		{"a syntax error is internal", exec("SELEC 1"), registry.EINTERNAL},
		{"any other error is internal", dbError("test", errors.New("disk on fire")), registry.EINTERNAL},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := registry.ErrorCode(tt.err); got != tt.want {
				t.Errorf("code %q, want %q (%v)", got, tt.want, tt.err)
			}
		})
	}
}

func TestConcurrency(t *testing.T) {
	ctx := context.Background()

	t.Run("readers see whole batches while a writer applies them", func(t *testing.T) {
		s := open(t)
		const batches, perBatch = 12, 25
		stop := make(chan struct{})
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					st, err := s.LoadIndex(ctx, "main")
					if err != nil {
						errs <- err
						return
					}
					// Each batch adds perBatch commits and one version
					// (opening its span): a torn read would break this.
					if got, want := len(st.Versions), len(st.Commits)/perBatch; got != want {
						errs <- fmt.Errorf("read %d versions with %d commits, want %d", got, len(st.Commits), want)
						return
					}
					if got, want := len(st.Open), min(1, len(st.Versions)); got != want {
						errs <- fmt.Errorf("read %d open spans, want %d", got, want)
						return
					}
					if _, err := s.RefMoves(ctx, registry.RefMoveQuery{Environment: "production"}); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		for i := range batches {
			base := i * perBatch
			b := &registry.IndexBatch{
				Base:     base,
				Commits:  commits("main", base+1, base+perBatch),
				Versions: []registry.Version{version("p", i+1, "main", base+1)},
				Spans:    []registry.Span{{Name: "p", Version: i + 1, From: base + 1}},
			}
			if i > 0 {
				b.Closed = []registry.Span{{Name: "p", Version: i, From: base - perBatch + 1, To: base + 1}}
			}
			if err := s.ApplyIndex(ctx, "main", b); err != nil {
				t.Fatalf("batch %d: %v", i, err)
			}
			if _, err := s.RecordRefMove(ctx, registry.RefMove{Environment: "production", To: sha(fmt.Sprint(i)), Via: "poll"}); err != nil {
				t.Fatal(err)
			}
		}
		close(stop)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	t.Run("concurrent writers all succeed", func(t *testing.T) {
		s := open(t)
		var wg sync.WaitGroup
		const writers, each = 8, 20
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					m := registry.RefMove{Environment: fmt.Sprintf("env-%d", w), To: sha(fmt.Sprint(w, i)), Via: "poll"}
					if _, err := s.RecordRefMove(ctx, m); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		moves, err := s.RefMoves(ctx, registry.RefMoveQuery{Limit: MaxRefMoves})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(moves), writers*each; got != want {
			t.Errorf("%d moves recorded, want %d", got, want)
		}
	})
}

func TestSyncTimesSurviveReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "promptreg.db")
	s, err := Open(ctx, Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.LoadSyncTimes(ctx); err != nil || !got.LastSync.IsZero() || !got.LastFetchSuccess.IsZero() {
		t.Fatalf("new database: got %+v, %v; want zero times", got, err)
	}
	fetched := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	synced := fetched.Add(time.Second)
	if err := s.SaveSyncTimes(ctx, registry.SyncTimes{LastFetchSuccess: fetched, LastSync: synced}); err != nil {
		t.Fatal(err)
	}
	// A zero time keeps what was stored.
	if err := s.SaveSyncTimes(ctx, registry.SyncTimes{LastSync: synced.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(ctx, Options{Path: path}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.LoadSyncTimes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastFetchSuccess.Equal(fetched) || !got.LastSync.Equal(synced.Add(time.Second)) {
		t.Errorf("got %+v, want fetch %v and sync %v", got, fetched, synced.Add(time.Second))
	}
}
