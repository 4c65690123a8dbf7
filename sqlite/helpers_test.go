package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/promptreg/promptreg/registry"
)

// clock is an injectable clock that moves only when told to.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// dbPath returns the path of a new database file in a temporary directory.
func dbPath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "promptreg.db")
}

// openAt opens the store at path with clk (nil for time.Now) and closes it
// at the end of the test.
func openAt(t testing.TB, path string, clk *clock) *Store {
	t.Helper()
	opts := Options{Path: path}
	if clk != nil {
		opts.Now = clk.Now
	}
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// open opens a store in a new temporary file.
func open(t testing.TB) *Store {
	t.Helper()
	return openAt(t, dbPath(t), newClock())
}

// sha returns a fake 40-hex commit sha derived from s.
func sha(s string) string {
	h := sha256.Sum256([]byte("commit " + s))
	return hex.EncodeToString(h[:20])
}

// checksum returns the sha256 hex of content.
func checksum(content string) string {
	h := sha256.Sum256([]byte(content))
	return hex.EncodeToString(h[:])
}

// commitTime is the author time of the commit with sequence number seq, in a
// non-UTC zone, as Git gives it.
func commitTime(seq int) time.Time {
	zone := time.FixedZone("CET", 3600)
	return time.Date(2024, 1, 1, 9, 0, 0, 0, zone).Add(time.Duration(seq) * time.Hour)
}

// indexedCommit returns a commit of branch history "line" with sequence
// number seq.
func indexedCommit(line string, seq int) registry.IndexedCommit {
	return registry.IndexedCommit{Seq: seq, Commit: commitOf(line, seq)}
}

func commitOf(line string, seq int) registry.Commit {
	return registry.Commit{
		SHA:     sha(fmt.Sprintf("%s-%d", line, seq)),
		Author:  "Ada Lovelace",
		Email:   "ada@example.com",
		Time:    commitTime(seq),
		Message: fmt.Sprintf("%s: change %d\n\nWith a body.", line, seq),
	}
}

// version returns version n of prompt name, introduced by commit seq of line.
func version(name string, n int, line string, seq int) registry.Version {
	return registry.Version{
		Name:     name,
		Version:  n,
		Checksum: checksum(fmt.Sprintf("%s v%d", name, n)),
		Path:     name + ".prompt",
		Commit:   commitOf(line, seq),
	}
}

// commits returns the commits from..to (inclusive) of line.
func commits(line string, from, to int) []registry.IndexedCommit {
	var cs []registry.IndexedCommit
	for seq := from; seq <= to; seq++ {
		cs = append(cs, indexedCommit(line, seq))
	}
	return cs
}

// wantUTC returns v with its commit time in UTC, as the store returns it.
func wantUTC(v registry.Version) registry.Version {
	v.Commit.Time = v.Commit.Time.UTC()
	return v
}

// bigBatch returns the first batch of a synthetic repository: nCommits
// commits, each changing perCommit of nPrompts prompts to new content, so
// nCommits*perCommit versions and spans, nPrompts of them open.
func bigBatch(nCommits, nPrompts, perCommit int) *registry.IndexBatch {
	b := &registry.IndexBatch{}
	type open struct{ version, from, span int }
	current := make(map[string]open, nPrompts)
	names := make([]string, nPrompts)
	for i := range names {
		names[i] = fmt.Sprintf("team-%02d/prompt-%04d", i%40, i)
	}
	next := 0
	for seq := 1; seq <= nCommits; seq++ {
		c := indexedCommit("main", seq)
		b.Commits = append(b.Commits, c)
		for range perCommit {
			name := names[next%nPrompts]
			next++
			cur, ok := current[name]
			if ok {
				b.Spans[cur.span].To = seq
			}
			v := registry.Version{
				Name:     name,
				Version:  cur.version + 1,
				Checksum: checksum(fmt.Sprintf("%s %d", name, cur.version+1)),
				Path:     name + ".prompt",
				Commit:   c.Commit,
			}
			b.Versions = append(b.Versions, v)
			b.Spans = append(b.Spans, registry.Span{Name: name, Version: v.Version, From: seq})
			current[name] = open{version: v.Version, from: seq, span: len(b.Spans) - 1}
		}
	}
	return b
}

// contents is what indexedDB puts in a database besides the index.
type contents struct {
	moves      int  // ref moves recorded in the ledger
	audit      int  // entries recorded in the audit log
	executions int  // executions recorded
	keys       int  // API keys stored
	rewrite    bool // whether a batch rewrote the branch's history
}

// indexedDB returns the path of a new database holding the index of a
// history of 400 commits (1,200 versions) and h, closed (so its WAL is
// checkpointed into the file and removed).
func indexedDB(t *testing.T, clk *clock, h contents) string {
	t.Helper()
	ctx := context.Background()
	path := dbPath(t)
	s, err := Open(ctx, Options{Path: path, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ApplyIndex(ctx, "main", bigBatch(400, 100, 3)); err != nil {
		t.Fatal(err)
	}
	if h.rewrite {
		// The head commit is replaced by another: the version it
		// introduced stays, and only the store remembers it.
		if err := s.ApplyIndex(ctx, "main", &registry.IndexBatch{Base: 399, Commits: commits("rewritten", 400, 400)}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range h.moves {
		if _, err := s.RecordRefMove(ctx, registry.RefMove{Environment: "production", To: sha(string(rune('a' + i))), Via: "poll"}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range h.audit {
		if _, err := s.RecordAudit(ctx, auditEntry(fmt.Sprintf("team-%02d/prompt-%04d", i%40, i), "key-1")); err != nil {
			t.Fatal(err)
		}
	}
	if h.executions > 0 {
		var es []registry.Execution
		for i := range h.executions {
			es = append(es, succeeded(fmt.Sprintf("ex_%04d", i), i))
		}
		if err := s.InsertExecutions(ctx, es); err != nil {
			t.Fatal(err)
		}
	}
	for i := range h.keys {
		if err := s.CreateKey(ctx, apiKey(fmt.Sprintf("key%04d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// logTo returns a logger that writes text records to buf.
func logTo(buf *bytes.Buffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
