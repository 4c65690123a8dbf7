package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/promptreg/promptreg/registry"
)

// history is a small branch history, applied in two batches:
//
//	seq 1: a v1, b v1
//	seq 2: a v2
//	seq 3: (nothing for the prompts)
//	--- batch 2 (Base 3)
//	seq 4: a back to v1 (a revert: no new version), b v2
//	seq 5: c v1
func history() (first, second *registry.IndexBatch) {
	first = &registry.IndexBatch{
		Base:    0,
		Commits: commits("main", 1, 3),
		Versions: []registry.Version{
			version("a", 1, "main", 1),
			version("b", 1, "main", 1),
			version("a", 2, "main", 2),
		},
		Spans: []registry.Span{
			{Name: "a", Version: 1, From: 1, To: 2},
			{Name: "b", Version: 1, From: 1},
			{Name: "a", Version: 2, From: 2},
		},
	}
	second = &registry.IndexBatch{
		Base:    3,
		Commits: commits("main", 4, 5),
		Versions: []registry.Version{
			version("b", 2, "main", 4),
			version("c", 1, "main", 5),
		},
		Spans: []registry.Span{
			{Name: "a", Version: 1, From: 4},
			{Name: "b", Version: 2, From: 4},
			{Name: "c", Version: 1, From: 5},
		},
		Closed: []registry.Span{
			{Name: "a", Version: 2, From: 2, To: 4},
			{Name: "b", Version: 1, From: 1, To: 4},
		},
	}
	return first, second
}

func shas(line string, from, to int) []string {
	var s []string
	for _, c := range commits(line, from, to) {
		s = append(s, c.SHA)
	}
	return s
}

func versionsUTC(vs ...registry.Version) []registry.Version {
	var out []registry.Version
	for _, v := range vs {
		out = append(out, wantUTC(v))
	}
	return out
}

// mustApply applies batches to branch, failing the test on error.
func mustApply(t *testing.T, s *Store, branch string, batches ...*registry.IndexBatch) {
	t.Helper()
	for i, b := range batches {
		if err := s.ApplyIndex(context.Background(), branch, b); err != nil {
			t.Fatalf("ApplyIndex batch %d: %v", i, err)
		}
	}
}

func mustLoad(t *testing.T, s *Store, branch string) *registry.IndexState {
	t.Helper()
	st, err := s.LoadIndex(context.Background(), branch)
	if err != nil {
		t.Fatalf("LoadIndex(%s): %v", branch, err)
	}
	return st
}

func checkState(t *testing.T, got, want *registry.IndexState) {
	t.Helper()
	if !reflect.DeepEqual(got.Commits, want.Commits) {
		t.Errorf("commits:\n got %v\nwant %v", got.Commits, want.Commits)
	}
	if !reflect.DeepEqual(got.Versions, want.Versions) {
		t.Errorf("versions:\n got %+v\nwant %+v", got.Versions, want.Versions)
	}
	if !reflect.DeepEqual(got.Open, want.Open) {
		t.Errorf("open spans:\n got %+v\nwant %+v", got.Open, want.Open)
	}
}

func checkSpans(t *testing.T, s *Store, branch, name string, want []registry.Span) {
	t.Helper()
	got, err := s.Spans(context.Background(), branch, name)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("spans of %s:\n got %+v\nwant %+v", name, got, want)
	}
}

func TestApplyIndex(t *testing.T) {
	ctx := context.Background()

	t.Run("round-trips through LoadIndex", func(t *testing.T) {
		s := open(t)
		first, second := history()
		mustApply(t, s, "main", first, second)
		checkState(t, mustLoad(t, s, "main"), &registry.IndexState{
			Commits: shas("main", 1, 5),
			Versions: versionsUTC(
				version("a", 1, "main", 1), version("a", 2, "main", 2),
				version("b", 1, "main", 1), version("b", 2, "main", 4),
				version("c", 1, "main", 5),
			),
			Open: []registry.Span{
				{Name: "a", Version: 1, From: 4},
				{Name: "b", Version: 2, From: 4},
				{Name: "c", Version: 1, From: 5},
			},
		})
		checkSpans(t, s, "main", "a", []registry.Span{
			{Name: "a", Version: 1, From: 1, To: 2},
			{Name: "a", Version: 2, From: 2, To: 4},
			{Name: "a", Version: 1, From: 4},
		})
	})

	t.Run("returns times in UTC at the same instant", func(t *testing.T) {
		s := open(t)
		first, _ := history()
		mustApply(t, s, "main", first)
		st := mustLoad(t, s, "main")
		got, want := st.Versions[0].Commit.Time, commitTime(1)
		if !got.Equal(want) || got.Location().String() != "UTC" {
			t.Errorf("commit time %v, want %v in UTC", got, want)
		}
	})

	t.Run("an unknown branch loads empty", func(t *testing.T) {
		s := open(t)
		st := mustLoad(t, s, "nope")
		if len(st.Commits)+len(st.Versions)+len(st.Open) != 0 {
			t.Errorf("got %+v, want an empty state", st)
		}
	})

	t.Run("an empty first batch creates nothing visible", func(t *testing.T) {
		s := open(t)
		mustApply(t, s, "main", &registry.IndexBatch{})
		if st := mustLoad(t, s, "main"); len(st.Commits) != 0 {
			t.Errorf("got %d commits, want 0", len(st.Commits))
		}
	})

	t.Run("a rewrite drops commits and spans above base, reopens spans and keeps versions", func(t *testing.T) {
		s := open(t)
		first, second := history()
		mustApply(t, s, "main", first, second)
		// Force-push: the new history shares commits 1-2; its commit 3
		// ("alt" line) changes c to a new version.
		rewrite := &registry.IndexBatch{
			Base:     2,
			Commits:  commits("alt", 3, 3),
			Versions: []registry.Version{version("c", 2, "alt", 3)},
			Spans:    []registry.Span{{Name: "c", Version: 2, From: 3}},
		}
		mustApply(t, s, "main", rewrite)
		checkState(t, mustLoad(t, s, "main"), &registry.IndexState{
			Commits: append(shas("main", 1, 2), shas("alt", 3, 3)...),
			Versions: versionsUTC(
				version("a", 1, "main", 1), version("a", 2, "main", 2),
				version("b", 1, "main", 1), version("b", 2, "main", 4),
				version("c", 1, "main", 5), version("c", 2, "alt", 3),
			),
			Open: []registry.Span{
				{Name: "a", Version: 2, From: 2}, // closed at 4, reopened
				{Name: "b", Version: 1, From: 1}, // closed at 4, reopened
				{Name: "c", Version: 2, From: 3},
			},
		})
		checkSpans(t, s, "main", "a", []registry.Span{
			{Name: "a", Version: 1, From: 1, To: 2}, // ended at 2 = Base: kept closed
			{Name: "a", Version: 2, From: 2},
		})
		checkSpans(t, s, "main", "c", []registry.Span{{Name: "c", Version: 2, From: 3}})
	})

	t.Run("a rewrite to an ancestor with no new commits truncates", func(t *testing.T) {
		s := open(t)
		first, second := history()
		mustApply(t, s, "main", first, second)
		mustApply(t, s, "main", &registry.IndexBatch{Base: 1})
		st := mustLoad(t, s, "main")
		if got, want := st.Commits, shas("main", 1, 1); !reflect.DeepEqual(got, want) {
			t.Errorf("commits %v, want %v", got, want)
		}
		if got, want := st.Open, []registry.Span{{Name: "a", Version: 1, From: 1}, {Name: "b", Version: 1, From: 1}}; !reflect.DeepEqual(got, want) {
			t.Errorf("open spans %+v, want %+v", got, want)
		}
		if got, want := len(st.Versions), 5; got != want {
			t.Errorf("%d versions, want %d (versions are never dropped)", got, want)
		}
	})

	t.Run("accepts versions introduced by commits of an earlier batch", func(t *testing.T) {
		// A rename copies the old name's versions, first commits included,
		// to the new name.
		s := open(t)
		first, _ := history()
		mustApply(t, s, "main", first)
		renamed := func(v registry.Version) registry.Version { v.Name = "z"; return v }
		mustApply(t, s, "main", &registry.IndexBatch{
			Base:     3,
			Commits:  commits("main", 4, 4),
			Versions: []registry.Version{renamed(version("a", 1, "main", 1)), renamed(version("a", 2, "main", 2))},
			Spans:    []registry.Span{{Name: "z", Version: 2, From: 4}},
			Closed:   []registry.Span{{Name: "a", Version: 2, From: 2, To: 4}},
		})
		checkState(t, mustLoad(t, s, "main"), &registry.IndexState{
			Commits: shas("main", 1, 4),
			Versions: versionsUTC(
				version("a", 1, "main", 1), version("a", 2, "main", 2),
				version("b", 1, "main", 1),
				renamed(version("a", 1, "main", 1)), renamed(version("a", 2, "main", 2)),
			),
			Open: []registry.Span{{Name: "b", Version: 1, From: 1}, {Name: "z", Version: 2, From: 4}},
		})
	})

	t.Run("branches are independent", func(t *testing.T) {
		s := open(t)
		indexTwoBranches(t, s)
		if got, want := len(mustLoad(t, s, "main").Commits), 5; got != want {
			t.Errorf("main has %d commits, want %d", got, want)
		}
		if got, want := mustLoad(t, s, "dev").Commits, shas("dev", 1, 1); !reflect.DeepEqual(got, want) {
			t.Errorf("dev commits %v, want %v", got, want)
		}
	})

	conflicts := []struct {
		name  string
		batch func() *registry.IndexBatch
	}{
		{"a version number that exists is a conflict", func() *registry.IndexBatch {
			_, b := history()
			b.Versions[0] = version("a", 2, "main", 4)
			b.Versions[0].Checksum = checksum("other bytes")
			return b
		}},
		{"a checksum that exists under another number is a conflict", func() *registry.IndexBatch {
			_, b := history()
			b.Versions[1].Name, b.Versions[1].Version = "a", 3
			b.Versions[1].Checksum = version("a", 1, "", 0).Checksum
			b.Spans[2] = registry.Span{Name: "a", Version: 3, From: 5}
			return b
		}},
		{"a commit sha that exists is a conflict", func() *registry.IndexBatch {
			_, b := history()
			b.Commits[1].SHA = sha("main-1")
			return b
		}},
		{"a span of a version that does not exist is a conflict", func() *registry.IndexBatch {
			_, b := history()
			b.Spans = append(b.Spans, registry.Span{Name: "zzz", Version: 1, From: 5})
			return b
		}},
		{"closing a span that is not open is a conflict", func() *registry.IndexBatch {
			_, b := history()
			b.Closed = append(b.Closed, registry.Span{Name: "a", Version: 1, From: 1, To: 4})
			return b
		}},
		{"closing a span with the wrong version is a conflict", func() *registry.IndexBatch {
			_, b := history()
			b.Closed[0].Version = 1
			return b
		}},
		{"a base above the head is a conflict", func() *registry.IndexBatch {
			_, b := history()
			b.Base = 4
			for i := range b.Commits {
				b.Commits[i].Seq++
			}
			for i := range b.Spans {
				b.Spans[i].From++
			}
			b.Closed = nil
			return b
		}},
	}
	for _, tt := range conflicts {
		t.Run(tt.name+" and changes nothing", func(t *testing.T) {
			s := open(t)
			first, _ := history()
			mustApply(t, s, "main", first)
			before := mustLoad(t, s, "main")
			err := s.ApplyIndex(ctx, "main", tt.batch())
			if got, want := registry.ErrorCode(err), registry.ECONFLICT; got != want {
				t.Fatalf("code %q, want %q (%v)", got, want, err)
			}
			checkState(t, mustLoad(t, s, "main"), before)
			checkSpans(t, s, "main", "a", []registry.Span{
				{Name: "a", Version: 1, From: 1, To: 2},
				{Name: "a", Version: 2, From: 2},
			})
		})
	}

	invalid := []struct {
		name   string
		branch string
		batch  func() *registry.IndexBatch
	}{
		{"no branch is invalid", "", func() *registry.IndexBatch { return &registry.IndexBatch{} }},
		{"no batch is invalid", "main", func() *registry.IndexBatch { return nil }},
		{"a negative base is invalid", "main", func() *registry.IndexBatch { return &registry.IndexBatch{Base: -1} }},
		{"commits out of sequence are invalid", "main", func() *registry.IndexBatch {
			_, b := history()
			b.Commits[0].Seq = 5
			return b
		}},
		{"a commit without sha is invalid", "main", func() *registry.IndexBatch {
			_, b := history()
			b.Commits[0].SHA = ""
			return b
		}},
		{"a version without checksum is invalid", "main", func() *registry.IndexBatch {
			_, b := history()
			b.Versions[0].Checksum = ""
			return b
		}},
		{"a new span starting at or below base is invalid", "main", func() *registry.IndexBatch {
			_, b := history()
			b.Spans[0].From = 3
			return b
		}},
		{"a span ending before it starts is invalid", "main", func() *registry.IndexBatch {
			_, b := history()
			b.Spans[0].To = 4
			return b
		}},
		{"a closed span that starts above base is invalid", "main", func() *registry.IndexBatch {
			_, b := history()
			b.Closed[0].From = 4
			return b
		}},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			first, _ := history()
			mustApply(t, s, "main", first)
			err := s.ApplyIndex(ctx, tt.branch, tt.batch())
			if got, want := registry.ErrorCode(err), registry.EINVALID; got != want {
				t.Fatalf("code %q, want %q (%v)", got, want, err)
			}
		})
	}

	t.Run("a big first batch round-trips", func(t *testing.T) {
		s := open(t)
		b := bigBatch(300, 50, 3)
		mustApply(t, s, "main", b)
		st := mustLoad(t, s, "main")
		if got, want := len(st.Commits), 300; got != want {
			t.Errorf("%d commits, want %d", got, want)
		}
		if got, want := len(st.Versions), 900; got != want {
			t.Errorf("%d versions, want %d", got, want)
		}
		if got, want := len(st.Open), 50; got != want {
			t.Errorf("%d open spans, want %d", got, want)
		}
	})
}

func TestSpans(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	first, second := history()
	mustApply(t, s, "main", first, second)

	t.Run("an unknown prompt has none", func(t *testing.T) {
		checkSpans(t, s, "main", "nope", nil)
	})
	t.Run("an unknown branch has none", func(t *testing.T) {
		checkSpans(t, s, "nope", "a", nil)
	})
	t.Run("an ended context is a timeout", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := s.Spans(cctx, "main", "a")
		if got, want := registry.ErrorCode(err), registry.ETIMEOUT; got != want {
			t.Errorf("code %q, want %q (%v)", got, want, err)
		}
	})
}

func TestCommits(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	first, second := history()
	mustApply(t, s, "main", first, second)

	t.Run("returns the commits asked for, in UTC", func(t *testing.T) {
		got, err := s.Commits(ctx, "main", []int{2, 5, 4})
		if err != nil {
			t.Fatal(err)
		}
		want := map[int]registry.Commit{}
		for _, seq := range []int{2, 4, 5} {
			c := commitOf("main", seq)
			c.Time = c.Time.UTC()
			want[seq] = c
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v\nwant %+v", got, want)
		}
	})
	t.Run("leaves out numbers not indexed", func(t *testing.T) {
		got, err := s.Commits(ctx, "main", []int{0, 1, 6, 99})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(len(got), got[1].SHA), fmt.Sprint(1, sha("main-1")); got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})
	t.Run("no numbers is an empty map", func(t *testing.T) {
		got, err := s.Commits(ctx, "main", nil)
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("got %v, %v; want an empty map", got, err)
		}
	})
	t.Run("many numbers at once", func(t *testing.T) {
		seqs := make([]int, 5000)
		for i := range seqs {
			seqs[i] = i % 7
		}
		got, err := s.Commits(ctx, "main", seqs)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(got), 5; got != want {
			t.Errorf("%d commits, want %d", got, want)
		}
	})
}

func TestResetIndex(t *testing.T) {
	ctx := context.Background()

	t.Run("drops the branch's index and only it", func(t *testing.T) {
		s := open(t)
		indexTwoBranches(t, s)
		if err := s.ResetIndex(ctx, "main"); err != nil {
			t.Fatal(err)
		}
		st := mustLoad(t, s, "main")
		if len(st.Commits)+len(st.Versions)+len(st.Open) != 0 {
			t.Errorf("after reset got %+v, want an empty state", st)
		}
		checkSpans(t, s, "main", "a", nil)
		if got, want := len(mustLoad(t, s, "dev").Versions), 1; got != want {
			t.Errorf("dev has %d versions, want %d", got, want)
		}
		// The same history can be indexed again from scratch.
		first, second := history()
		mustApply(t, s, "main", first, second)
		if got, want := len(mustLoad(t, s, "main").Commits), 5; got != want {
			t.Errorf("reindexed %d commits, want %d", got, want)
		}
	})

	t.Run("an unknown branch is a no-op", func(t *testing.T) {
		s := open(t)
		if err := s.ResetIndex(ctx, "nope"); err != nil {
			t.Errorf("got %v, want nil", err)
		}
	})
}

// indexTwoBranches indexes history() on main and one commit on dev.
func indexTwoBranches(t *testing.T, s *Store) {
	t.Helper()
	first, second := history()
	mustApply(t, s, "main", first, second)
	mustApply(t, s, "dev", &registry.IndexBatch{
		Commits:  commits("dev", 1, 1),
		Versions: []registry.Version{version("a", 1, "dev", 1)},
		Spans:    []registry.Span{{Name: "a", Version: 1, From: 1}},
	})
}

// toSchema2 takes a database back to schema version 2, but for the markers
// migration 3 sets: Open applies only the migrations above the newest one
// applied, so every later migration is undone too.
var toSchema2 = []string{
	"DROP TABLE audit_log",                       // migration 4
	"ALTER TABLE ref_moves DROP COLUMN by_actor", // migration 5
	"DROP TABLE executions",                      // migration 6
	"DROP TABLE api_keys",                        // migration 7
	"DELETE FROM schema_migrations WHERE version > 2",
}

func TestRewriteMarker(t *testing.T) {
	ctx := context.Background()
	marker := func(t *testing.T, s *Store) (string, bool) {
		t.Helper()
		var v string
		err := s.reader.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = ?", metaRewrittenPrefix+"main").Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return "", false
		}
		if err != nil {
			t.Fatal(err)
		}
		return v, true
	}

	t.Run("is set by the first rewrite, kept by later ones and dropped by ResetIndex", func(t *testing.T) {
		clk := newClock()
		s := openAt(t, dbPath(t), clk)
		if err := s.ApplyIndex(ctx, "main", &registry.IndexBatch{Commits: commits("main", 1, 3)}); err != nil {
			t.Fatal(err)
		}
		if err := s.ApplyIndex(ctx, "main", &registry.IndexBatch{Base: 3, Commits: commits("main", 4, 4)}); err != nil {
			t.Fatal(err)
		}
		if v, ok := marker(t, s); ok {
			t.Fatalf("marker %q after batches that only append, want none", v)
		}

		first := timeValue(clk.Now())
		if err := s.ApplyIndex(ctx, "main", &registry.IndexBatch{Base: 2, Commits: commits("other", 3, 3)}); err != nil {
			t.Fatal(err)
		}
		if v, ok := marker(t, s); !ok || v != first {
			t.Errorf("marker after a rewrite = %q, %v; want %q", v, ok, first)
		}
		clk.Advance(1)
		if err := s.ApplyIndex(ctx, "main", &registry.IndexBatch{Base: 1}); err != nil {
			t.Fatal(err)
		}
		if v, _ := marker(t, s); v != first {
			t.Errorf("marker after a second rewrite = %q, want the first's %q", v, first)
		}

		if err := s.ResetIndex(ctx, "main"); err != nil {
			t.Fatal(err)
		}
		if v, ok := marker(t, s); ok {
			t.Errorf("marker %q after ResetIndex, want none", v)
		}
	})

	t.Run("a failed batch sets none", func(t *testing.T) {
		s := open(t)
		if err := s.ApplyIndex(ctx, "main", &registry.IndexBatch{Commits: commits("main", 1, 3)}); err != nil {
			t.Fatal(err)
		}
		// The commit exists already: the batch is rolled back.
		err := s.ApplyIndex(ctx, "main", &registry.IndexBatch{Base: 1, Commits: []registry.IndexedCommit{{Seq: 2, Commit: commitOf("main", 3)}, {Seq: 3, Commit: commitOf("main", 3)}}})
		if err == nil {
			t.Fatal("batch with a repeated commit applied, want an error")
		}
		if v, ok := marker(t, s); ok {
			t.Errorf("marker %q after a failed batch, want none", v)
		}
	})

	t.Run("migration 3 marks a database rewritten before the marker existed", func(t *testing.T) {
		path := indexedDB(t, newClock(), contents{rewrite: true})
		s := openAt(t, path, nil)
		// Back to the state of a database of schema version 2.
		for _, q := range append([]string{"DELETE FROM meta"}, toSchema2...) {
			if _, err := s.writer.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()

		s = openAt(t, path, nil)
		if _, ok := marker(t, s); !ok {
			t.Error("no marker after migration 3 on a database with a version whose commit was dropped")
		}
	})

	t.Run("migration 3 leaves a database without such versions unmarked", func(t *testing.T) {
		path := indexedDB(t, newClock(), contents{})
		s := openAt(t, path, nil)
		for _, q := range toSchema2 {
			if _, err := s.writer.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		s.Close()
		s = openAt(t, path, nil)
		if v, ok := marker(t, s); ok {
			t.Errorf("marker %q, want none", v)
		}
	})
}
