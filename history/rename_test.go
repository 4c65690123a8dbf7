package history_test

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/promptreg/promptreg/gitstore"
	"github.com/promptreg/promptreg/history"
	"github.com/promptreg/promptreg/internal/gittest"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/render"
	"github.com/promptreg/promptreg/snapshots"
	"github.com/promptreg/promptreg/sqlite"
)

// renameRepo is a real repository, its clone, a database and the keeper
// serving them, synced after every commit.
type renameRepo struct {
	t      *testing.T
	repo   *gittest.Repo
	git    *gitstore.Store
	db     *sqlite.Store
	keeper *snapshots.Keeper
}

func newRenameRepo(t *testing.T) *renameRepo {
	t.Helper()
	repo := gittest.New(t)
	repo.Commit("empty root") // the clone needs a branch to track
	git, err := gitstore.Open(gitstore.Options{URL: repo.Path(), Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { git.Close() })
	db := openDB(t)
	keeper := snapshots.New(snapshots.Options{Source: git, Parser: render.Parser{}, History: db, Git: git})
	t.Cleanup(keeper.Close)
	return &renameRepo{t: t, repo: repo, git: git, db: db, keeper: keeper}
}

func openDB(t *testing.T) *sqlite.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "promptreg.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// commit writes files ("" deletes one), commits them with msg and syncs.
func (r *renameRepo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	for p, c := range files {
		if c == "" {
			r.repo.Remove(p)
		} else {
			r.repo.Write(p, c)
		}
	}
	return r.sync(r.repo.Commit(msg))
}

// move is `git mv from to` committed with msg, then a sync.
func (r *renameRepo) move(msg, from, to string) string {
	r.t.Helper()
	r.repo.Git("mv", from, to)
	return r.sync(r.repo.Commit(msg))
}

func (r *renameRepo) sync(sha string) string {
	r.t.Helper()
	if err := r.keeper.Sync(context.Background()); err != nil {
		r.t.Fatalf("Sync: %v", err)
	}
	return sha
}

// versions returns "number:content@path" of each version of name, oldest
// first, the content read through VersionBytes.
func (r *renameRepo) versions(name string) []string {
	r.t.Helper()
	vs, err := r.keeper.History().Versions(context.Background(), name)
	if err != nil {
		r.t.Fatalf("Versions(%s): %v", name, err)
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		data, _, err := r.keeper.History().VersionBytes(context.Background(), name, v.Version.Version)
		if err != nil {
			r.t.Fatalf("VersionBytes(%s, %d): %v", name, v.Version.Version, err)
		}
		out[len(vs)-1-i] = fmt.Sprintf("%d:%s@%s", v.Version.Version, data, v.Path)
	}
	return out
}

// resolve returns the raw content ?version=n of name serves.
func (r *renameRepo) resolve(name string, n int) string {
	r.t.Helper()
	e, _, err := r.keeper.History().ResolveVersion(context.Background(), name, n, "")
	if err != nil {
		r.t.Fatalf("ResolveVersion(%s, %d): %v", name, n, err)
	}
	return string(e.Prompt.Raw)
}

// served returns the version and content the head serves for name.
func (r *renameRepo) served(name string) string {
	r.t.Helper()
	s, _, err := r.keeper.Resolve(context.Background(), registry.Selector{})
	if err != nil {
		r.t.Fatal(err)
	}
	e, ok := s.Get(name)
	if !ok {
		r.t.Fatalf("%s not served at the head; problems: %v", name, s.Problems)
	}
	return fmt.Sprintf("%d:%s", e.Prompt.Version, e.Prompt.Raw)
}

func checkStrings(t *testing.T, what string, got []string, want ...string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

const renamedAB = "Rename a to b\n\nPromptreg-Renamed: a -> b"

func TestRenameCarriesHistory(t *testing.T) {
	ctx := context.Background()

	t.Run("a git mv with the trailer keeps the number, and older versions stay readable under the new name", func(t *testing.T) {
		r := newRenameRepo(t)
		c1 := r.commit("a", map[string]string{"a.prompt": "one"})
		c2 := r.commit("a again", map[string]string{"a.prompt": "two"})
		c3 := r.move(renamedAB, "a.prompt", "b.prompt")

		checkStrings(t, "versions of b", r.versions("b"), "1:one@a.prompt", "2:two@a.prompt")
		if got, want := r.served("b"), "2:two"; got != want {
			t.Errorf("b at the head = %s, want %s (the same version as before the rename)", got, want)
		}
		if got := r.resolve("b", 1); got != "one" {
			t.Errorf("b?version=1 = %q, want \"one\"", got)
		}
		if got := r.resolve("b", 2); got != "two" {
			t.Errorf("b?version=2 = %q, want \"two\"", got)
		}
		vs, err := r.keeper.History().Versions(ctx, "b")
		if err != nil {
			t.Fatal(err)
		}
		if v2, v1 := vs[0], vs[1]; !v2.Current || v1.Current || v2.Commit.SHA != c2 || v1.Commit.SHA != c1 {
			t.Errorf("b's versions = %+v, want v2 current, introduced by %s, v1 by %s", vs, c2, c1)
		}
		// b's own ranges start at the rename; a's end there.
		if got := vs[0].CurrentAt; len(got) != 1 || got[0].From != c3 || got[0].Until != "" {
			t.Errorf("b v2 current at %+v, want from %s on", got, c3)
		}

		// a keeps its history, no longer current.
		// After a restart, a broken b stands for its last good version,
		// read from where the version first appeared.
		broken := r.commit("break b", map[string]string{"b.prompt": "{{ broken"})
		x := history.New(history.Options{Store: r.db, Git: r.git, Source: r.git, Parser: render.Parser{}, Branch: "main"})
		if err := x.Update(ctx, broken); err != nil {
			t.Fatal(err)
		}
		if p, ok := x.LastGood(ctx, "b", broken); !ok || p.Name != "b" || string(p.Raw) != "two" {
			t.Errorf("LastGood(b) = %+v, %v; want version 2 named b", p, ok)
		}

		checkStrings(t, "versions of a", r.versions("a"), "1:one@a.prompt", "2:two@a.prompt")
		if got := r.resolve("a", 1); got != "one" {
			t.Errorf("a?version=1 = %q, want \"one\"", got)
		}
		va, err := r.keeper.History().Versions(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		if got := va[0].CurrentAt; va[0].Current || len(got) != 1 || got[0].From != c2 || got[0].Until != c3 {
			t.Errorf("a v2 = %+v, want not current, current from %s until %s", va[0], c2, c3)
		}
	})

	t.Run("a rename that changes the bytes is the next version of the inherited list", func(t *testing.T) {
		r := newRenameRepo(t)
		r.commit("a", map[string]string{"p.prompt": "---\nname: a\n---\none"})
		r.commit("a again", map[string]string{"p.prompt": "---\nname: a\n---\ntwo"})
		c3 := r.commit(renamedAB, map[string]string{"p.prompt": "---\nname: b\n---\ntwo"})

		checkStrings(t, "versions of b", r.versions("b"),
			"1:---\nname: a\n---\none@p.prompt", "2:---\nname: a\n---\ntwo@p.prompt", "3:---\nname: b\n---\ntwo@p.prompt")
		if got, want := r.served("b"), "3:---\nname: b\n---\ntwo"; got != want {
			t.Errorf("b at the head = %q, want %q", got, want)
		}
		// Version 1 is served at its commit under its old name: found by
		// its file.
		if got, want := r.resolve("b", 1), "---\nname: a\n---\none"; got != want {
			t.Errorf("b?version=1 = %q, want %q", got, want)
		}
		vs, _ := r.keeper.History().Versions(ctx, "b")
		if vs[0].Commit.SHA != c3 {
			t.Errorf("b v3 introduced by %s, want the rename %s", vs[0].Commit.SHA, c3)
		}
		checkStrings(t, "versions of a", r.versions("a"), "1:---\nname: a\n---\none@p.prompt", "2:---\nname: a\n---\ntwo@p.prompt")
	})

	t.Run("a name with a history of its own ignores the trailer", func(t *testing.T) {
		r := newRenameRepo(t)
		r.commit("a and b", map[string]string{"a.prompt": "a1", "b.prompt": "b1"})
		r.commit("drop b", map[string]string{"b.prompt": ""})
		r.commit("a again", map[string]string{"a.prompt": "a2"})
		r.move(renamedAB, "a.prompt", "b.prompt")

		checkStrings(t, "versions of b", r.versions("b"), "1:b1@b.prompt", "2:a2@b.prompt")
		checkStrings(t, "versions of a", r.versions("a"), "1:a1@a.prompt", "2:a2@a.prompt")
	})

	t.Run("without the trailer the new name starts at version 1", func(t *testing.T) {
		r := newRenameRepo(t)
		r.commit("a", map[string]string{"a.prompt": "one"})
		r.commit("a again", map[string]string{"a.prompt": "two"})
		r.move("Rename a to b", "a.prompt", "b.prompt")

		checkStrings(t, "versions of b", r.versions("b"), "1:two@b.prompt")
		if got, want := r.served("b"), "1:two"; got != want {
			t.Errorf("b at the head = %s, want %s", got, want)
		}
	})

	t.Run("a trailer its commit does not act on is ignored", func(t *testing.T) {
		r := newRenameRepo(t)
		r.commit("a", map[string]string{"a.prompt": "one"})
		// a is still served: a copy, not a rename.
		r.commit("Copy a to c\n\nPromptreg-Renamed: a -> c", map[string]string{"c.prompt": "one"})
		// x never had a version.
		r.commit("Add d\n\nPromptreg-Renamed: x -> d", map[string]string{"d.prompt": "d"})
		// a was deleted a commit before.
		r.commit("drop a", map[string]string{"a.prompt": ""})
		r.commit("Add e\n\nPromptreg-Renamed: a -> e", map[string]string{"e.prompt": "e"})

		checkStrings(t, "versions of c", r.versions("c"), "1:one@c.prompt")
		checkStrings(t, "versions of d", r.versions("d"), "1:d@d.prompt")
		checkStrings(t, "versions of e", r.versions("e"), "1:e@e.prompt")
	})
}

// TestRenameHistoryIsAFunctionOfTheBranch checks that the index walked
// commit by commit, the same index loaded from its store, and an index
// walked from scratch into a new store number every version alike.
func TestRenameHistoryIsAFunctionOfTheBranch(t *testing.T) {
	ctx := context.Background()
	r := newRenameRepo(t)
	r.commit("a", map[string]string{"a.prompt": "one"})
	r.commit("a again", map[string]string{"a.prompt": "two"})
	r.move(renamedAB, "a.prompt", "b.prompt")
	r.commit("b", map[string]string{"b.prompt": "three"})
	r.commit("Rename b to c\n\nPromptreg-Renamed: b -> c", map[string]string{"b.prompt": "", "c.prompt": "one"})
	r.commit("a anew", map[string]string{"a.prompt": "four"})
	r.commit("Rename a to c, which has versions\n\nPromptreg-Renamed: a -> c", map[string]string{"a.prompt": "", "c.prompt": "four"})
	head := r.move("Rename c to d\n\nPromptreg-Renamed: c -> d", "c.prompt", "d.prompt")
	names := []string{"a", "b", "c", "d"}

	dbs := map[string]*sqlite.Store{"step by step": openDB(t), "from scratch": openDB(t)}
	newIndex := func(db *sqlite.Store) *history.Index {
		return history.New(history.Options{Store: db, Git: r.git, Source: r.git, Parser: render.Parser{}, Branch: "main"})
	}
	stepwise := newIndex(dbs["step by step"])
	chain := strings.Fields(r.repo.Git("rev-list", "--first-parent", head))
	slices.Reverse(chain)
	for _, sha := range chain {
		if err := stepwise.Update(ctx, sha); err != nil {
			t.Fatalf("Update(%s): %v", sha, err)
		}
	}
	scratch := newIndex(dbs["from scratch"])
	if err := scratch.Update(ctx, head); err != nil {
		t.Fatal(err)
	}
	reloaded := newIndex(dbs["step by step"])
	if err := reloaded.Update(ctx, head); err != nil {
		t.Fatal(err)
	}
	if st := reloaded.Stats(); st.CommitsWalked != 0 {
		t.Fatalf("the reloaded index walked %d commits, want it loaded", st.CommitsWalked)
	}

	want := map[string][]string{
		"a": {"1:one", "2:two", "3:four"},
		"b": {"1:one", "2:two", "3:three"},
		"c": {"1:one", "2:two", "3:three", "4:four"}, // inherited from b, then a's rename ignored
		"d": {"1:one", "2:two", "3:three", "4:four"}, // inherited from c
	}
	for _, name := range names {
		keeper := listOf(t, r, name, func() []registry.Version {
			vs, err := r.keeper.History().Versions(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]registry.Version, len(vs))
			for i, v := range vs {
				out[len(vs)-1-i] = v.Version
			}
			return out
		}())
		checkStrings(t, "versions of "+name+" served", contents(keeper), want[name]...)
		for what, x := range map[string]*history.Index{"step by step": stepwise, "reloaded": reloaded, "from scratch": scratch} {
			if got := x.List(name); !reflect.DeepEqual(listOf(t, r, name, got), keeper) {
				t.Errorf("%s: versions of %s\n got %+v\nwant %+v", what, name, got, keeper)
			}
		}
	}
}

// listed is a version as the comparison sees it: its content instead of
// the commit's time (the store keeps times in UTC).
type listed struct {
	Version        int
	Checksum, Path string
	Commit         string
	Content        string
}

func listOf(t *testing.T, r *renameRepo, name string, vs []registry.Version) []listed {
	t.Helper()
	out := make([]listed, len(vs))
	for i, v := range vs {
		data, err := r.git.ReadFile(context.Background(), v.Commit.SHA, v.Path)
		if err != nil {
			t.Fatalf("read version %d of %s: %v", v.Version, name, err)
		}
		out[i] = listed{Version: v.Version, Checksum: v.Checksum, Path: v.Path, Commit: v.Commit.SHA, Content: string(data)}
	}
	return out
}

func contents(ls []listed) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = fmt.Sprintf("%d:%s", l.Version, l.Content)
	}
	return out
}
