package snapshots_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promptreg/promptreg/internal/memsource"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/render"
	"github.com/promptreg/promptreg/snapshots"
	"github.com/promptreg/promptreg/sqlite"
)

func openDB(t *testing.T, path string) *sqlite.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), sqlite.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newHistoryKeeper(t *testing.T, src *memsource.Source, db *sqlite.Store) *snapshots.Keeper {
	t.Helper()
	return snapshots.New(snapshots.Options{Source: src, Parser: render.Parser{}, History: db, Git: src})
}

// versionsOf returns "number:content" of each version of name, oldest first.
func versionsOf(t *testing.T, r *snapshots.Keeper, name string) []string {
	t.Helper()
	vs, err := r.History().Versions(context.Background(), name)
	if err != nil {
		t.Fatalf("Versions(%s): %v", name, err)
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		e, _, err := r.History().ResolveVersion(context.Background(), name, v.Version.Version, "")
		if err != nil {
			t.Fatalf("ResolveVersion(%s, %d): %v", name, v.Version.Version, err)
		}
		out[len(vs)-1-i] = strings.TrimSpace(string(e.Prompt.Raw))
	}
	return out
}

func TestHistoryNumbersContent(t *testing.T) {
	src := memsource.New()
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	c1 := src.Add(main, map[string]string{"a.prompt": "one", "b.prompt": "b"})
	src.Add(main, map[string]string{"a.prompt": "two", "b.prompt": "b"})
	src.Add(main, map[string]string{"a.prompt": "one", "b.prompt": "b"})                                            // revert
	src.Add(main, map[string]string{"a.prompt": "broken {% if %}", "b.prompt": "b"})                                // broken: no version
	src.Add(main, map[string]string{"moved/x.prompt": "---\nname: b\n---\nb2", "a.prompt": "one"})                  // b renamed with new content
	src.Add(main, map[string]string{"moved/x.prompt": "---\nname: b\n---\nb2", "a.prompt": "one", "c.prompt": "c"}) // unrelated
	src.Add(main, map[string]string{"moved/x.prompt": "---\nname: b\n---\nb2", "c.prompt": "c"})                    // a deleted
	src.Add(main, map[string]string{"moved/x.prompt": "---\nname: b\n---\nb2", "c.prompt": "c", "a.prompt": "two"}) // a re-created as v2
	r := newHistoryKeeper(t, src, db)
	mustSync(t, r)

	if got, want := strings.Join(versionsOf(t, r, "a"), ","), "one,two"; got != want {
		t.Errorf("versions of a = %s, want %s (a revert is the earlier version again)", got, want)
	}
	e := get(t, r, registry.Selector{}, "a")
	if e.Prompt.Version != 2 || e.Prompt.Commit == nil {
		t.Errorf("a at head: version %d commit %v, want version 2 with its commit", e.Prompt.Version, e.Prompt.Commit)
	}
	vs, _ := r.History().Versions(context.Background(), "a")
	if len(vs) != 2 || !vs[0].Current || vs[1].Current || vs[1].Commit.SHA != c1 {
		t.Errorf("versions = %+v", vs)
	}
	// v1 was current twice (before and after the revert) and until a was deleted.
	if got := len(vs[1].CurrentAt); got != 2 {
		t.Errorf("v1 current in %d ranges, want 2: %+v", got, vs[1].CurrentAt)
	}
	if got, want := strings.Join(versionsOf(t, r, "b"), ","), "b,---\nname: b\n---\nb2"; got != want {
		t.Errorf("versions of b = %q, want %q", got, want)
	}
	// A deleted prompt's versions stay reachable.
	if _, _, err := r.History().ResolveVersion(context.Background(), "a", 1, ""); err != nil {
		t.Errorf("ResolveVersion(a, 1): %v", err)
	}
	if _, _, err := r.History().ResolveVersion(context.Background(), "a", 3, ""); registry.ErrorCode(err) != registry.ENOTFOUND {
		t.Errorf("ResolveVersion(a, 3) = %v, want ENOTFOUND", err)
	}
	if _, _, err := r.History().ResolveVersion(context.Background(), "a", 0, registry.Checksum([]byte("two"))); err != nil {
		t.Errorf("ResolveVersion by checksum: %v", err)
	}
	if st := r.IndexStats(); st.Commits != 8 || st.CommitsWalked != 8 {
		t.Errorf("stats = %+v, want 8 commits indexed", st)
	}
}

func TestHistoryRestartDoesNotRewalk(t *testing.T) {
	src := memsource.New()
	path := filepath.Join(t.TempDir(), "db")
	db := openDB(t, path)
	for i := 0; i < 20; i++ {
		src.Add(main, map[string]string{"a.prompt": strings.Repeat("x", i+1)})
	}
	r := newHistoryKeeper(t, src, db)
	mustSync(t, r)
	if st := r.IndexStats(); st.CommitsWalked != 20 {
		t.Fatalf("first index walked %d commits, want 20", st.CommitsWalked)
	}
	db.Close()

	db2 := openDB(t, path)
	r2 := newHistoryKeeper(t, src, db2)
	mustSync(t, r2)
	if st := r2.IndexStats(); st.CommitsWalked != 0 || st.Commits != 20 || st.Versions != 20 {
		t.Errorf("restart stats = %+v, want nothing walked and the index loaded", st)
	}
	src.Add(main, map[string]string{"a.prompt": "new"})
	mustSync(t, r2)
	if st := r2.IndexStats(); st.CommitsWalked != 1 {
		t.Errorf("one new commit walked %d, want 1", st.CommitsWalked)
	}
	if e := get(t, r2, registry.Selector{}, "a"); e.Prompt.Version != 21 {
		t.Errorf("version after restart = %d, want 21", e.Prompt.Version)
	}
}

func TestHistoryForcePush(t *testing.T) {
	src := memsource.New()
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	base := src.Add(main, map[string]string{"a.prompt": "one"})
	src.Add(main, map[string]string{"a.prompt": "two"})
	src.Add(main, map[string]string{"a.prompt": "three"})
	r := newHistoryKeeper(t, src, db)
	mustSync(t, r)

	// Rewrite: reset main to base and commit other content.
	src.SetRef(main, base)
	src.Add(main, map[string]string{"a.prompt": "four"})
	mustSync(t, r)
	st := r.IndexStats()
	if st.Rewrites != 1 || st.Commits != 2 {
		t.Errorf("stats = %+v, want one rewrite and 2 commits indexed", st)
	}
	e := get(t, r, registry.Selector{}, "a")
	if e.Prompt.Version != 4 {
		t.Errorf("new content numbered %d, want 4 (numbers already given are kept)", e.Prompt.Version)
	}
	if _, _, err := r.History().ResolveVersion(context.Background(), "a", 2, ""); err != nil {
		t.Errorf("version 2 from the old history: %v", err)
	}
	vs, _ := r.History().Versions(context.Background(), "a")
	for _, v := range vs {
		if v.Version.Version == 2 && len(v.CurrentAt) != 0 {
			t.Errorf("v2 is current at %+v in the new history, want nowhere", v.CurrentAt)
		}
	}
}

func TestLastKnownGoodAfterRestart(t *testing.T) {
	src := memsource.New()
	path := filepath.Join(t.TempDir(), "db")
	src.Add(main, map[string]string{"a.prompt": "good {{ x }}"})
	r := newHistoryKeeper(t, src, openDB(t, path))
	mustSync(t, r)
	good := get(t, r, registry.Selector{}, "a")
	src.Add(main, map[string]string{"a.prompt": "broken {% if %}"})

	// A fresh process that never served the good version still does.
	r2 := newHistoryKeeper(t, src, openDB(t, path))
	mustSync(t, r2)
	e := get(t, r2, registry.Selector{}, "a")
	if e.ETag != good.ETag || e.Stale == "" || string(e.Body) != string(good.Body) {
		t.Errorf("after restart: etag %s stale %q, want %s served stale", e.ETag, e.Stale, good.ETag)
	}
}

func TestPromotionLedger(t *testing.T) {
	src := memsource.New()
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	cfg := "environments: {production: refs/tags/production}\n"
	v1 := src.Add(main, map[string]string{"promptreg.yaml": cfg, "a.prompt": "one"})
	src.SetRef("refs/tags/production", v1)
	v2 := src.Add(main, map[string]string{"promptreg.yaml": cfg, "a.prompt": "two"})
	r := newHistoryKeeper(t, src, db)
	if err := r.SyncFor(context.Background(), registry.Cause{Via: "start"}); err != nil {
		t.Fatal(err)
	}
	src.SetRef("refs/tags/production", v2)
	if err := r.SyncFor(context.Background(), registry.Cause{Via: "webhook", Delivery: "d-1"}); err != nil {
		t.Fatal(err)
	}
	mustSync(t, r) // nothing moved: nothing recorded
	moves, err := r.History().EnvironmentHistory(context.Background(), "production", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(moves) != 2 || moves[0].From != v1 || moves[0].To != v2 || moves[0].Via != "webhook" || moves[0].Delivery != "d-1" || moves[1].To != v1 {
		t.Fatalf("moves = %+v", moves)
	}
	vs, _ := r.History().Versions(context.Background(), "a")
	var v1stays, v2stays []registry.EnvironmentStay
	for _, v := range vs {
		switch v.Version.Version {
		case 1:
			v1stays = v.EnvironmentHistory
		case 2:
			v2stays = v.EnvironmentHistory
			if len(v.Environments) != 1 || v.Environments[0] != "production" {
				t.Errorf("v2 environments = %v", v.Environments)
			}
		}
	}
	if len(v1stays) != 1 || v1stays[0].Left == nil || len(v2stays) != 1 || v2stays[0].Left != nil {
		t.Errorf("stays: v1 %+v, v2 %+v", v1stays, v2stays)
	}
	envs, err := r.History().Environments(context.Background())
	if err != nil || len(envs) != 1 || envs[0].Commit != v2 || envs[0].MovedAt == nil || envs[0].Differs != 0 {
		t.Errorf("environments = %+v, %v", envs, err)
	}
	if _, err := r.History().EnvironmentHistory(context.Background(), "nope", 0, 10); registry.ErrorCode(err) != registry.ENOTFOUND {
		t.Errorf("unknown environment = %v", err)
	}
}

func TestHistoryRenameKeepsTheVersion(t *testing.T) {
	src := memsource.New()
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	content := "---\nname: greet\n---\nHello {{ who }}"
	src.Add(main, map[string]string{"greet.prompt": content})
	src.Add(main, map[string]string{"moved/elsewhere.prompt": content}) // same bytes, same name
	r := newHistoryKeeper(t, src, db)
	mustSync(t, r)
	vs, err := r.History().Versions(context.Background(), "greet")
	if err != nil {
		t.Fatal(err)
	}
	if len(vs) != 1 || len(vs[0].CurrentAt) != 1 || vs[0].CurrentAt[0].Until != "" {
		t.Errorf("versions after a rename = %+v, want one version current since the first commit", vs)
	}
	// The body is the version's: same path as before the rename, so the
	// unchanged ETag still describes it; the file's place is internal.
	if e := get(t, r, registry.Selector{}, "greet"); e.Prompt.Path != "greet.prompt" || e.Prompt.File != "moved/elsewhere.prompt" || e.Prompt.Version != 1 {
		t.Errorf("served path %s file %s version %d", e.Prompt.Path, e.Prompt.File, e.Prompt.Version)
	}
}

func TestLedgerFollowsTagMovesBothWays(t *testing.T) {
	src := memsource.New()
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	cfg := "environments: {production: refs/tags/production}\n"
	c1 := src.Add(main, map[string]string{"promptreg.yaml": cfg, "a.prompt": "one"})
	c2 := src.Add(main, map[string]string{"promptreg.yaml": cfg, "a.prompt": "two"})
	r := newHistoryKeeper(t, src, db)
	for _, to := range []string{c1, c2, c1} { // forward, then back (a rollback)
		src.SetRef("refs/tags/production", to)
		mustSync(t, r)
		if got := get(t, r, registry.Selector{Env: "production"}, "a").Prompt.Template; got != map[string]string{c1: "one", c2: "two"}[to] {
			t.Errorf("production serves %q after moving to %s", got, to)
		}
	}
	src.DeleteRef("refs/tags/production")
	mustSync(t, r)
	moves, err := r.History().EnvironmentHistory(context.Background(), "production", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := len(moves) - 1; i >= 0; i-- {
		got = append(got, short(moves[i].From)+">"+short(moves[i].To))
	}
	want := []string{">" + short(c1), short(c1) + ">" + short(c2), short(c2) + ">" + short(c1), short(c1) + ">"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("ledger = %v, want %v", got, want)
	}
	vs, _ := r.History().Versions(context.Background(), "a")
	for _, v := range vs {
		if v.Version.Version == 1 && len(v.EnvironmentHistory) != 2 {
			t.Errorf("v1 stays = %+v, want two (before and after the rollback)", v.EnvironmentHistory)
		}
	}
}

func short(sha string) string {
	if len(sha) > 7 {
		return sha[:7]
	}
	return sha
}

func TestOversizedFileDoesNotStopSyncs(t *testing.T) {
	src := memsource.New()
	db := openDB(t, filepath.Join(t.TempDir(), "db"))
	src.Add(main, map[string]string{"a.prompt": "one", "big.prompt": strings.Repeat("x", registry.MaxFileSize+1)})
	src.Add(main, map[string]string{"a.prompt": "two", "big.prompt": strings.Repeat("y", registry.MaxFileSize+1)})
	r := newHistoryKeeper(t, src, db)
	mustSync(t, r)
	if e := get(t, r, registry.Selector{}, "a"); e.Prompt.Template != "two" || e.Prompt.Version != 2 {
		t.Errorf("a = %q v%d", e.Prompt.Template, e.Prompt.Version)
	}
	st := r.Status()
	if len(st.Head.Problems) != 1 || !strings.Contains(st.Head.Problems[0].Message, "limit") {
		t.Errorf("problems = %+v, want the oversized file reported", st.Head.Problems)
	}
}

func TestDuplicateResolvedAcrossSyncsNumbersTheSame(t *testing.T) {
	files := []map[string]string{
		{"a.prompt": "---\nname: a\n---\none"},
		{"a.prompt": "---\nname: a\n---\none", "b.prompt": "---\nname: a\n---\nclaim"},
		{"b.prompt": "---\nname: a\n---\nclaim"},
	}
	versions := func(syncEach bool) string {
		src := memsource.New()
		r := newHistoryKeeper(t, src, openDB(t, filepath.Join(t.TempDir(), "db")))
		for _, f := range files {
			src.Add(main, f)
			if syncEach {
				mustSync(t, r)
			}
		}
		mustSync(t, r)
		return strings.Join(versionsOf(t, r, "a"), "|")
	}
	if one, each := versions(false), versions(true); one != each {
		t.Errorf("versions synced at once %q, synced commit by commit %q", one, each)
	}
}

func TestLastKnownGoodAfterRestartFollowsTheEnvironmentsCommit(t *testing.T) {
	src := memsource.New()
	path := filepath.Join(t.TempDir(), "db")
	cfg := "environments: {production: refs/tags/production}\n"
	src.Add(main, map[string]string{"promptreg.yaml": cfg, "a.prompt": "released"})
	broken := src.Add(main, map[string]string{"promptreg.yaml": cfg, "a.prompt": "broken {% if %}"})
	src.SetRef("refs/tags/production", broken)
	src.Add(main, map[string]string{"promptreg.yaml": cfg, "a.prompt": "unreleased fix"})
	r := newHistoryKeeper(t, src, openDB(t, path))
	mustSync(t, r)
	if e := get(t, r, registry.Selector{Env: "production"}, "a"); e.Prompt.Template != "released" || e.Stale == "" {
		t.Errorf("production serves %q (stale %q), want the released version, stale", e.Prompt.Template, e.Stale)
	}
}

func TestVersionServedWhereItsPartialExists(t *testing.T) {
	src := memsource.New()
	src.Add(main, map[string]string{"a.prompt": `{% include "p" %} A`})
	src.Add(main, map[string]string{"a.prompt": `{% include "p" %} A`, "p.prompt": "partial"})
	r := newHistoryKeeper(t, src, openDB(t, filepath.Join(t.TempDir(), "db")))
	mustSync(t, r)
	e, _, err := r.History().ResolveVersion(context.Background(), "a", 1, "")
	if err != nil || e.Prompt.Version != 1 || len(e.Prompt.Includes) != 1 {
		t.Errorf("version 1 = %+v, %v; want it served with its partial", e, err)
	}
}
