package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promptreg/promptreg/registry"
)

// crashBatch is batch i of the history the crash test writes: crashPer
// commits and one new version of prompt "p" whose span closes the previous.
func crashBatch(i int) *registry.IndexBatch {
	const per = crashPer
	base := i * per
	b := &registry.IndexBatch{
		Base:     base,
		Commits:  commits("main", base+1, base+per),
		Versions: []registry.Version{version("p", i+1, "main", base+1)},
		Spans:    []registry.Span{{Name: "p", Version: i + 1, From: base + 1}},
	}
	if i > 0 {
		b.Closed = []registry.Span{{Name: "p", Version: i, From: base - per + 1, To: base + 1}}
	}
	return b
}

const crashPer = 200

// TestCrashWriter is the process TestKilledWriter kills: it applies batches
// and records ref moves until it dies, printing each one it committed.
func TestCrashWriter(t *testing.T) {
	path := os.Getenv("PROMPTREG_CRASH_DB")
	if path == "" {
		t.Skip("run by TestKilledWriter")
	}
	ctx := context.Background()
	s, err := Open(ctx, Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if err := s.ApplyIndex(ctx, "main", crashBatch(i)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordRefMove(ctx, registry.RefMove{Environment: "production", To: sha(strconv.Itoa(i)), Via: "poll"}); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(os.Stdout, "committed %d\n", i)
	}
}

func TestKilledWriter(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	ctx := context.Background()
	path := dbPath(t)
	committed := -1
	// Kill the writer at a different moment each round; each round
	// continues the history where the database says it stopped.
	for round := range 3 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashWriter$", "-test.count=1")
		cmd.Env = append(os.Environ(), "PROMPTREG_CRASH_DB="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		seen := 0
		for seen < 2+round && lines.Scan() {
			if n, ok := strings.CutPrefix(lines.Text(), "committed "); ok {
				committed, _ = strconv.Atoi(n)
				seen++
			}
		}
		// Somewhere in the middle of a later batch.
		time.Sleep(time.Duration(round*7) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		for lines.Scan() { // what it printed before it died
			if n, ok := strings.CutPrefix(lines.Text(), "committed "); ok {
				committed, _ = strconv.Atoi(n)
			}
		}
		_ = cmd.Wait()
		if seen == 0 {
			t.Fatalf("round %d: the writer committed nothing", round)
		}

		s, err := Open(ctx, Options{Path: path})
		if err != nil {
			t.Fatalf("round %d: reopen after kill: %v", round, err)
		}
		var check string
		if err := s.reader.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
			t.Errorf("round %d: integrity_check = %q, %v; want ok", round, check, err)
		}
		st, err := s.LoadIndex(ctx, "main")
		if err != nil {
			t.Fatal(err)
		}
		if got := len(st.Commits); got%crashPer != 0 || got < (committed+1)*crashPer {
			t.Errorf("round %d: %d commits after the kill, want a whole number of batches and at least %d",
				round, got, (committed+1)*crashPer)
		}
		t.Logf("round %d: killed after it reported batch %d; the database holds %d batches", round, committed, len(st.Commits)/crashPer)
		if got, want := len(st.Versions), len(st.Commits)/crashPer; got != want {
			t.Errorf("round %d: %d versions with %d commits, want %d", round, got, len(st.Commits), want)
		}
		moves, err := s.RefMoves(ctx, registry.RefMoveQuery{Limit: MaxRefMoves})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(moves), committed+1; got < want {
			t.Errorf("round %d: %d ref moves after the kill, want at least %d", round, got, want)
		}
		// The next round's writer starts again at batch 0.
		if err := s.ResetIndex(ctx, "main"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.writer.ExecContext(ctx, "DELETE FROM ref_moves"); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		committed = -1
	}
}
