package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promptreg/promptreg/registry"
)

// leafPage returns the number (from 1) and size of the middle leaf page of
// table in the database at path, from SQLite's dbstat table.
func leafPage(t *testing.T, path, table string) (pageno, size int64) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var pages []int64
	rows, err := db.Query("SELECT pageno, pgsize FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno", table)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		if err := rows.Scan(&pageno, &size); err != nil {
			t.Fatal(err)
		}
		pages = append(pages, pageno)
	}
	if err := closeRows(rows); err != nil {
		t.Fatal(err)
	}
	if len(pages) < 3 {
		t.Fatalf("table %s has %d leaf pages, want a few", table, len(pages))
	}
	return pages[len(pages)/2], size
}

// zeroPage overwrites the middle leaf page of table in the file at path
// with zeros, as a disk or a copy that lost a block does.
func zeroPage(t *testing.T, path, table string) {
	t.Helper()
	pageno, size := leafPage(t, path, table)
	overwrite(t, path, (pageno-1)*size, make([]byte, size))
}

// overwrite writes data into the file at path at offset off.
func overwrite(t *testing.T, path string, off int64, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, off); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// replaceLast replaces the last occurrence of old in the file at path with
// new, of the same length. The last: an earlier one can be a stale copy in
// a page's free space.
func replaceLast(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.LastIndex(b, []byte(old))
	if i < 0 || len(old) != len(new) {
		t.Fatalf("%q not in %s (or not the length of %q)", old, path, new)
	}
	overwrite(t, path, int64(i), []byte(new))
}

// wantDamaged checks that err is the EINTERNAL error of a damaged file
// whose message contains each of parts.
func wantDamaged(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("no error, want one saying the database file is damaged")
	}
	if got, want := registry.ErrorCode(err), registry.EINTERNAL; got != want {
		t.Errorf("code %q, want %q (%v)", got, want, err)
	}
	if !errors.Is(err, ErrDamaged) {
		t.Errorf("errors.Is(%v, ErrDamaged) = false, want true", err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not say %q", err, p)
		}
	}
}

func TestOpenDamaged(t *testing.T) {
	ctx := context.Background()

	t.Run("a zeroed page with an empty ledger is moved aside and the store starts empty", func(t *testing.T) {
		clk := newClock()
		path := indexedDB(t, clk, contents{})
		zeroPage(t, path, "versions")
		damaged, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}

		var logs bytes.Buffer
		s, err := Open(ctx, Options{Path: path, Now: clk.Now, Logger: logTo(&logs)})
		if err != nil {
			t.Fatalf("Open: %v, want the damaged file replaced", err)
		}
		defer s.Close()
		st, err := s.LoadIndex(ctx, "main")
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Commits)+len(st.Versions)+len(st.Open) != 0 {
			t.Errorf("index of the new database: %d commits, %d versions, want none", len(st.Commits), len(st.Versions))
		}
		if err := s.Check(ctx); err != nil {
			t.Errorf("Check of the new database: %v", err)
		}
		if err := s.Health(); err != nil {
			t.Errorf("Health of the new database: %v", err)
		}
		if got, want := len(appliedMigrations(t, s)), 3; got < want {
			t.Errorf("%d migrations applied to the new database, want at least %d", got, want)
		}
		if err := s.ApplyIndex(ctx, "main", &registry.IndexBatch{Commits: commits("main", 1, 3)}); err != nil {
			t.Errorf("indexing into the new database: %v", err)
		}

		aside := path + ".damaged-20250301T120000Z" // the injected clock's time
		kept, err := os.ReadFile(aside)
		if err != nil {
			t.Fatalf("damaged file not moved aside: %v", err)
		}
		if !bytes.Equal(kept, damaged) {
			t.Errorf("the file moved aside differs from the damaged file")
		}
		for _, want := range []string{"level=ERROR", "moved aside", aside, "rebuilds the version index from Git"} {
			if !strings.Contains(logs.String(), want) {
				t.Errorf("log does not say %q:\n%s", want, logs.String())
			}
		}
	})

	t.Run("a second damaged file the same second gets another name", func(t *testing.T) {
		clk := newClock()
		path := indexedDB(t, clk, contents{})
		if err := os.WriteFile(path+".damaged-20250301T120000Z", []byte("earlier"), 0o600); err != nil {
			t.Fatal(err)
		}
		zeroPage(t, path, "versions")
		openAt(t, path, clk)
		if _, err := os.Stat(path + ".damaged-20250301T120000Z.2"); err != nil {
			t.Errorf("second damaged file: %v", err)
		}
		if b, _ := os.ReadFile(path + ".damaged-20250301T120000Z"); string(b) != "earlier" {
			t.Errorf("the earlier damaged file was overwritten")
		}
	})

	t.Run("a zeroed page with moves in the ledger is refused", func(t *testing.T) {
		clk := newClock()
		path := indexedDB(t, clk, contents{moves: 3})
		zeroPage(t, path, "versions")
		s, err := Open(ctx, Options{Path: path, Now: clk.Now})
		if err == nil {
			s.Close()
		}
		wantDamaged(t, err, path, "is damaged", "the promotion ledger (3 moves)", "Git cannot give back",
			"from a backup", "aside", "Tree ")
		entries, _ := os.ReadDir(filepath.Dir(path))
		for _, e := range entries {
			if strings.Contains(e.Name(), "damaged") {
				t.Errorf("%s: a refused file is left where it is", e.Name())
			}
		}
	})

	t.Run("a zeroed page of the ledger itself is refused", func(t *testing.T) {
		clk := newClock()
		path := indexedDB(t, clk, contents{moves: 300})
		zeroPage(t, path, "ref_moves")
		_, err := Open(ctx, Options{Path: path, Now: clk.Now})
		wantDamaged(t, err, path, "the promotion ledger (300 moves recorded, which cannot all be read", "from a backup")
	})

	t.Run("a zeroed page with entries in the audit log is refused", func(t *testing.T) {
		clk := newClock()
		path := indexedDB(t, clk, contents{audit: 2})
		zeroPage(t, path, "versions")
		_, err := Open(ctx, Options{Path: path, Now: clk.Now})
		wantDamaged(t, err, path, "the audit log (2 entries)", "Git cannot give back", "from a backup")
		if strings.Contains(err.Error(), "promotion ledger (") {
			t.Errorf("error %q names an empty promotion ledger", err)
		}
	})

	t.Run("a zeroed page of the audit log itself is refused", func(t *testing.T) {
		clk := newClock()
		path := indexedDB(t, clk, contents{audit: 300})
		zeroPage(t, path, "audit_log")
		_, err := Open(ctx, Options{Path: path, Now: clk.Now})
		wantDamaged(t, err, path, "the audit log (300 entries recorded, which cannot all be read", "from a backup")
	})

	t.Run("a zeroed page with executions is refused", func(t *testing.T) {
		clk := newClock()
		path := indexedDB(t, clk, contents{executions: 3})
		zeroPage(t, path, "versions")
		_, err := Open(ctx, Options{Path: path, Now: clk.Now})
		wantDamaged(t, err, path, "the execution history (3 executions)", "Git cannot give back", "from a backup")
		for _, other := range []string{"promotion ledger (", "audit log ("} {
			if strings.Contains(err.Error(), other) {
				t.Errorf("error %q names an empty %s", err, other)
			}
		}
	})

	t.Run("a zeroed page of the executions themselves is refused", func(t *testing.T) {
		clk := newClock()
		path := indexedDB(t, clk, contents{executions: 300})
		zeroPage(t, path, "executions")
		_, err := Open(ctx, Options{Path: path, Now: clk.Now})
		wantDamaged(t, err, path, "the execution history (300 executions recorded, which cannot all be read", "from a backup")
	})

	t.Run("a zeroed page with API keys is refused", func(t *testing.T) {
		clk := newClock()
		path := indexedDB(t, clk, contents{keys: 2})
		zeroPage(t, path, "versions")
		_, err := Open(ctx, Options{Path: path, Now: clk.Now})
		wantDamaged(t, err, path, "the API keys (2 keys)", "Git cannot give back", "from a backup")
		for _, other := range []string{"promotion ledger (", "audit log (", "execution history ("} {
			if strings.Contains(err.Error(), other) {
				t.Errorf("error %q names an empty %s", err, other)
			}
		}
	})

	t.Run("a zeroed page of the API keys themselves is refused", func(t *testing.T) {
		// Keys have no counter: the index on their ids counts the lost ones.
		clk := newClock()
		path := indexedDB(t, clk, contents{keys: 300})
		zeroPage(t, path, "api_keys")
		_, err := Open(ctx, Options{Path: path, Now: clk.Now})
		wantDamaged(t, err, path, "the API keys (300 keys recorded, which cannot all be read", "from a backup")
	})

	t.Run("a zeroed page with a rewritten history is refused", func(t *testing.T) {
		clk := newClock()
		path := indexedDB(t, clk, contents{rewrite: true})
		zeroPage(t, path, "versions")
		_, err := Open(ctx, Options{Path: path, Now: clk.Now})
		wantDamaged(t, err, path, "versions of branch main", "rewrite", "Git cannot give back", "from a backup")
	})

	t.Run("a garbage header is refused", func(t *testing.T) {
		clk := newClock()
		path := indexedDB(t, clk, contents{})
		overwrite(t, path, 0, bytes.Repeat([]byte{0xa5}, 100))
		_, err := Open(ctx, Options{Path: path, Now: clk.Now})
		wantDamaged(t, err, path, "cannot be told", "from a backup")
	})

	t.Run("a changed checksum that reads do not notice is found by the check", func(t *testing.T) {
		clk := newClock()
		path := indexedDB(t, clk, contents{moves: 1})
		// bigBatch's second version of prompt 7.
		sum := checksum("team-07/prompt-0007 2")
		replaceLast(t, path, sum, strings.Repeat("0", 8)+sum[8:])
		// Reads see nothing wrong, nor does the quick check (which is
		// why Open runs integrity_check).
		raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		var quick string
		err = raw.QueryRow("PRAGMA quick_check").Scan(&quick)
		raw.Close()
		if err != nil || quick != "ok" {
			t.Fatalf("quick_check = %q, %v; want ok (the test no longer shows what it means to)", quick, err)
		}

		_, err = Open(ctx, Options{Path: path, Now: clk.Now})
		wantDamaged(t, err, "missing from index", "the promotion ledger (1 move)")
	})
}

func TestDamagedWhileOpen(t *testing.T) {
	ctx := context.Background()

	t.Run("a read that finds a damaged page fails, and so does everything after", func(t *testing.T) {
		path := dbPath(t)
		var logs bytes.Buffer
		s, err := Open(ctx, Options{Path: path, Logger: logTo(&logs)})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.ApplyIndex(ctx, "main", bigBatch(400, 100, 3)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordRefMove(ctx, registry.RefMove{Environment: "production", To: sha("a"), Via: "poll"}); err != nil {
			t.Fatal(err)
		}
		// Everything into the file, so that reads go to it, not to the WAL.
		if _, err := s.writer.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			t.Fatal(err)
		}
		zeroPage(t, path, "versions")

		st, err := s.LoadIndex(ctx, "main")
		if st != nil {
			t.Errorf("LoadIndex returned an index of %d versions, want none", len(st.Versions))
		}
		wantDamaged(t, err, "load index of main: database file "+path+" is damaged")
		wantDamaged(t, s.Health(), path)

		// The ledger's pages are sound, but nothing is read from or
		// written to a damaged file any more.
		_, err = s.RefMoves(ctx, registry.RefMoveQuery{})
		wantDamaged(t, err, "ref moves: database file "+path+" is damaged")
		_, err = s.RecordRefMove(ctx, registry.RefMove{Environment: "production", To: sha("b"), Via: "poll"})
		wantDamaged(t, err, "record move of production")
		wantDamaged(t, s.Check(ctx), "integrity check")

		if got := strings.Count(logs.String(), "level=ERROR"); got != 1 {
			t.Errorf("%d errors logged, want the damage logged once:\n%s", got, logs.String())
		}
	})

	t.Run("a stored time that is not one the store writes is damage", func(t *testing.T) {
		path := dbPath(t)
		s := openAt(t, path, nil)
		if err := s.ApplyIndex(ctx, "main", &registry.IndexBatch{Commits: commits("main", 1, 3)}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.writer.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			t.Fatal(err)
		}
		// Commit 2's time, which no index covers: the integrity check
		// cannot see the change.
		when := timeValue(commitTime(2)).(string)
		replaceLast(t, path, when, strings.Repeat("#", len(when)))
		if err := s.Check(ctx); err != nil {
			t.Fatalf("Check: %v, want nil (no structure changed)", err)
		}
		_, err := s.Commits(ctx, "main", []int{1, 2, 3})
		wantDamaged(t, err, "is damaged", "stored time")
	})

	t.Run("Check of a sound file is nil", func(t *testing.T) {
		s := openAt(t, indexedDB(t, newClock(), contents{moves: 2, rewrite: true}), nil)
		if err := s.Check(ctx); err != nil {
			t.Errorf("Check: %v", err)
		}
		if err := s.Health(); err != nil {
			t.Errorf("Health: %v", err)
		}
	})
}
