package snapshots

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/promptreg/promptreg/gitstore"
	"github.com/promptreg/promptreg/history"
	"github.com/promptreg/promptreg/internal/gittest"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/render"
	"github.com/promptreg/promptreg/sqlite"
)

// counter counts the ListFiles calls a builder makes (one per full build,
// none for an incremental one) and the blobs it reads.
type counter struct {
	registry.Source
	lists, reads atomic.Int64
}

func (c *counter) ListFiles(ctx context.Context, sha, dir string) ([]registry.FileRef, error) {
	c.lists.Add(1)
	return c.Source.ListFiles(ctx, sha, dir)
}

func (c *counter) ReadBlob(ctx context.Context, blob string) ([]byte, error) {
	c.reads.Add(1)
	return c.Source.ReadBlob(ctx, blob)
}

// chain is a chain of commits on a branch of a Git repository made in a
// temporary directory, read through a gitstore clone with a history index,
// and the builder under test: incremental, with the state of its last
// builds.
type chain struct {
	t     *testing.T
	repo  *gittest.Repo
	store *gitstore.Store
	index *history.Index
	count *counter
	inc   *builder
	built time.Time
}

func newChain(t *testing.T) *chain {
	t.Helper()
	repo := gittest.New(t)
	repo.Write("README.md", "prompts\n")
	repo.Commit("init")
	store, err := gitstore.Open(gitstore.Options{URL: repo.Path(), Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	db, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	c := &chain{t: t, repo: repo, store: store, count: &counter{Source: store},
		built: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	c.index = history.New(history.Options{Store: db, Git: store, Source: store, Parser: render.Parser{}, Branch: "main"})
	c.inc = c.builder(c.count, store)
	return c
}

// builder returns a builder reading src; incremental with git set.
func (c *chain) builder(src registry.Source, git registry.HistorySource) *builder {
	return &builder{src: src, parser: render.Parser{}, now: func() time.Time { return c.built }, memo: newGenerations(),
		versions: c.index.Lookup, lastGood: c.index.LastGood, git: git}
}

// commit writes files ("" deletes one), commits them on the checked-out
// branch, fetches, indexes main, and returns the commit.
func (c *chain) commit(files map[string]string) string {
	c.t.Helper()
	for p, content := range files {
		if content == "" {
			c.repo.Remove(p)
		} else {
			c.repo.Write(p, content)
		}
	}
	sha := c.repo.Commit("change")
	c.sync()
	return sha
}

func (c *chain) sync() {
	c.t.Helper()
	ctx := context.Background()
	if err := c.store.Fetch(ctx); err != nil {
		c.t.Fatal(err)
	}
	refs, err := c.store.Refs(ctx)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.index.Update(ctx, refs["refs/heads/main"]); err != nil {
		c.t.Fatal(err)
	}
}

// build builds sha for ref incrementally from prev, checks the snapshot is
// the one a full build makes from the same prev, and reports whether the
// build was incremental.
func (c *chain) build(sha, ref string, prev *registry.Snapshot) (*registry.Snapshot, bool) {
	c.t.Helper()
	ctx := context.Background()
	lists := c.count.lists.Load()
	got, err := c.inc.build(ctx, sha, ref, prev)
	if err != nil {
		c.t.Fatalf("incremental build of %s: %v", sha, err)
	}
	c.inc.memo.(*generations).rotate() // as a sync does
	want, err := c.builder(c.store, nil).build(ctx, sha, ref, prev)
	if err != nil {
		c.t.Fatalf("full build of %s: %v", sha, err)
	}
	if d := snapshotDiff(got, want); d != "" {
		c.t.Fatalf("at %s, the incremental build differs from the full build:\n%s", sha, d)
	}
	return got, c.count.lists.Load() == lists
}

// snapshotDiff describes how two snapshots differ; "" when they are equal
// (reflect.DeepEqual, unexported indexes included).
func snapshotDiff(got, want *registry.Snapshot) string {
	if reflect.DeepEqual(got, want) {
		return ""
	}
	var b strings.Builder
	if !reflect.DeepEqual(got.Names(), want.Names()) {
		fmt.Fprintf(&b, "names: got %v, want %v\n", got.Names(), want.Names())
	}
	if !reflect.DeepEqual(got.Problems, want.Problems) {
		fmt.Fprintf(&b, "problems:\n  got  %v\n  want %v\n", got.Problems, want.Problems)
	}
	for _, n := range want.Names() {
		g, _ := got.Get(n)
		w, _ := want.Get(n)
		if !reflect.DeepEqual(g, w) {
			fmt.Fprintf(&b, "entry %s:\n  got  %+v %+v\n  want %+v %+v\n", n, g, g.Prompt, w, w.Prompt)
		}
	}
	if got.Unnumbered != want.Unnumbered || got.Size != want.Size {
		fmt.Fprintf(&b, "unnumbered, size: got %d, %d, want %d, %d\n", got.Unnumbered, got.Size, want.Unnumbered, want.Size)
	}
	if b.Len() == 0 {
		fmt.Fprintf(&b, "snapshots differ elsewhere:\n  got  %+v\n  want %+v\n", got, want)
	}
	return b.String()
}

func TestIncrementalBuildMakesTheFullBuildsSnapshot(t *testing.T) {
	c := newChain(t)
	seed := map[string]string{
		"a.prompt":           "A {{ x }} {% include \"partials/p\" %}",
		"b.prompt":           "B {{ y }}",
		"c.prompt":           "C {% include \"partials/p\" %}",
		"d.prompt":           "D",
		"partials/p.prompt":  "P {{ tone }}",
		"partials/q.prompt":  "Q {% include \"partials/p\" %}",
		"notes/readme.txt":   "not a prompt",
		"deep/n0.prompt":     "n0",
		"deep/remove.prompt": "to be removed, then broken",
	}
	for i := range 20 {
		seed[fmt.Sprintf("f/%02d.prompt", i)] = fmt.Sprintf("filler %d {%% include \"partials/q\" %%}", i)
	}
	steps := []struct {
		name        string
		files       map[string]string
		incremental bool
		stale       string // a name served stale, if any
	}{
		{"an edit", map[string]string{"a.prompt": "A2 {{ x }} {% include \"partials/p\" %}"}, true, ""},
		{"an add and a delete", map[string]string{"e.prompt": "E", "d.prompt": ""}, true, ""},
		{"a move that keeps the name", map[string]string{"b.prompt": "", "sub/b.prompt": "---\nname: b\n---\nB {{ y }}"}, true, ""},
		{"a rename", map[string]string{"c.prompt": "", "c2.prompt": "C {% include \"partials/p\" %}"}, true, ""},
		{"a broken file keeps its last good version", map[string]string{"a.prompt": "broken {% if %}"}, true, "a"},
		{"a change beside the prompts", map[string]string{"notes/readme.txt": "still not", "f/00.prompt": "filler 0 v2"}, true, ""},
		{"the broken file fixed", map[string]string{"a.prompt": "A3 {% include \"partials/p\" %}"}, true, ""},
		{"a broken new file", map[string]string{"g.prompt": "{% if %}"}, true, ""},
		{"a name claimed twice", map[string]string{"h.prompt": "---\nname: e\n---\nH"}, true, ""},
		{"a name claimed twice, one claim edited", map[string]string{"e.prompt": "E2"}, true, ""},
		{"a name claimed once again", map[string]string{"h.prompt": ""}, true, ""},
		{"a partial edited", map[string]string{"partials/p.prompt": "P2 {{ tone }} {{ mood }}"}, true, ""},
		{"a partial broken", map[string]string{"partials/p.prompt": "P3 {% for %}"}, true, "c2"},
		{"a partial edited while broken", map[string]string{"partials/p.prompt": "P4 {% for %}"}, true, ""},
		{"a partial deleted", map[string]string{"partials/p.prompt": ""}, true, "c2"},
		{"an include of a missing partial edited", map[string]string{"c2.prompt": "C2 {% include \"partials/p\" %}"}, true, ""},
		{"a partial restored", map[string]string{"partials/p.prompt": "P5 {{ tone }}"}, true, ""},
		{"an include cycle", map[string]string{"x.prompt": "X {% include \"y\" %}", "y.prompt": "Y {% include \"x\" %}", "z.prompt": "Z {% include \"x\" %}"}, true, ""},
		{"an include cycle, an unrelated edit", map[string]string{"b.prompt": "B3"}, true, ""},
		{"an include cycle broken", map[string]string{"y.prompt": "Y"}, true, ""},
		{"partials nested too deep", deepChain(10), true, ""},
		{"partials nested deep enough", map[string]string{"deep/n8.prompt": "n8"}, true, ""},
		{"many files at once", fillers(20, "v3"), true, ""},
		{"a file deleted", map[string]string{"deep/remove.prompt": ""}, true, ""},
		{"the deleted file back, broken", map[string]string{"deep/remove.prompt": "{% if %}"}, true, ""},
		{"a prompt including a missing partial", map[string]string{"k.prompt": "K {% include \"nope\" %}"}, true, ""},
		{"the partial added, the prompt broken: its last good version", map[string]string{"nope.prompt": "N", "k.prompt": "{% if %}"}, true, "k"},
		{"still broken, its partial edited", map[string]string{"nope.prompt": "N2 {{ n }}"}, true, "k"},
		{"a name changed in place", map[string]string{"e.prompt": "---\nname: renamed\n---\nE"}, true, ""},
		{"a revert", map[string]string{"e.prompt": "E2", "f/05.prompt": "filler 5 {% include \"partials/q\" %}"}, true, ""},
		{"a prompt to move", map[string]string{"mv.prompt": "MV"}, true, ""},
		{"its name moved to a file that fails, its file claiming another", map[string]string{"mv.prompt": "---\nname: other\n---\nO", "mv2.prompt": "---\nname: mv\n---\nM {% include \"missing\" %}"}, true, "mv"},
		{"the moved prompt fixed", map[string]string{"mv2.prompt": "---\nname: mv\n---\nM2"}, true, ""},
		{"a file too large", map[string]string{"big.prompt": strings.Repeat("x", registry.MaxFileSize+1)}, true, ""},
		{"the configuration changed", map[string]string{registry.ConfigFile: "extensions: [.prompt, .txt]\n"}, false, ""},
		{"a prompt of the new extension", map[string]string{"t.txt": "T {{ x }}"}, true, ""},
		{"a broken configuration", map[string]string{registry.ConfigFile: "extensions: [\n"}, false, ""},
		{"an edit under a broken configuration", map[string]string{"t.txt": "T2"}, true, ""},
		{"the root changed", map[string]string{registry.ConfigFile: "root: deep\n"}, false, ""},
		{"an edit under the new root", map[string]string{"deep/n3.prompt": "n3 edited"}, true, ""},
	}

	sha := c.commit(seed)
	prev, incremental := c.build(sha, "refs/heads/main", nil)
	if incremental {
		t.Fatal("the first build was incremental")
	}
	for _, s := range steps {
		sha := c.commit(s.files)
		var incremental bool
		prev, incremental = c.build(sha, "refs/heads/main", prev)
		if incremental != s.incremental {
			t.Errorf("%s: incremental %v, want %v", s.name, incremental, s.incremental)
		}
		if e, ok := prev.Get(s.stale); s.stale != "" && (!ok || e.Stale == "") {
			t.Errorf("%s: %s not served stale; stale: %v", s.name, s.stale, prev.Stale())
		}
	}
}

func TestIncrementalBuildOfAnotherRefNumbersWhatTheBranchNumbers(t *testing.T) {
	c := newChain(t)
	main := c.commit(map[string]string{"a.prompt": "A", "b.prompt": "B {% include \"p\" %}", "p.prompt": "P", "c.prompt": "C"})
	c.repo.Git("checkout", "-q", "-b", "feature")
	f1 := c.commit(map[string]string{"a.prompt": "A on the feature branch"})
	const feature = "refs/heads/feature"
	s, _ := c.build(f1, feature, nil)
	if s.Unnumbered != 1 {
		t.Fatalf("unnumbered = %d, want 1 (a)", s.Unnumbered)
	}
	f2 := c.commit(map[string]string{"p.prompt": "P on the feature branch"})
	s, incremental := c.build(f2, feature, s)
	if !incremental || s.Unnumbered != 2 {
		t.Fatalf("incremental %v, unnumbered = %d; want an incremental build, 2 (a, p)", incremental, s.Unnumbered)
	}
	// The feature merged: the index numbers its content, and the
	// snapshot of the same commit is built again.
	c.repo.Git("checkout", "-q", "main")
	c.repo.Git("merge", "-q", "--ff-only", "feature")
	c.sync()
	s, incremental = c.build(f2, feature, s)
	if !incremental || s.Unnumbered != 0 {
		t.Fatalf("after the merge: incremental %v, unnumbered = %d; want an incremental build, 0", incremental, s.Unnumbered)
	}
	// A tag moving over several commits at once.
	const tag = "refs/tags/production"
	s, _ = c.build(main, tag, nil)
	c.commit(map[string]string{"c.prompt": "C2"})
	c.commit(map[string]string{"d.prompt": "D", "a.prompt": ""})
	head := c.commit(map[string]string{"p.prompt": "P3 {% if %}"})
	if s, incremental = c.build(head, tag, s); !incremental {
		t.Error("the tag's move was built in full")
	}
	if got := len(s.Stale()); got != 2 {
		t.Errorf("stale = %v, want p and b", s.Stale())
	}
}

func TestFullBuildAfterAConfigurationChangeParsesOnlyNewFiles(t *testing.T) {
	c := newChain(t)
	s, _ := c.build(c.commit(fillers(20, "v1")), "refs/heads/main", nil)
	c.commit(map[string]string{"f/00.prompt": "changed"})
	s, _ = c.build(c.commit(map[string]string{"partials/q.prompt": "Q"}), "refs/heads/main", s)
	reads := c.count.reads.Load()
	sha := c.commit(map[string]string{registry.ConfigFile: "environments: {production: refs/tags/production}\n", "new.prompt": "N"})
	if _, incremental := c.build(sha, "refs/heads/main", s); incremental {
		t.Fatal("a change of the configuration was built incrementally")
	}
	if got := c.count.reads.Load() - reads; got != 1 {
		t.Errorf("the full build read %d blobs, want 1 (new.prompt): the others were parsed before", got)
	}
}

// deepChain returns prompts deep/n0 … deep/n<n-1>, each including the next.
func deepChain(n int) map[string]string {
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("deep/n%d.prompt", i)] = fmt.Sprintf("n%d {%% include \"deep/n%d\" %%}", i, i+1)
	}
	files[fmt.Sprintf("deep/n%d.prompt", n)] = "end"
	return files
}

// fillers returns new content for the n filler prompts.
func fillers(n int, v string) map[string]string {
	files := map[string]string{}
	for i := range n {
		files[fmt.Sprintf("f/%02d.prompt", i)] = fmt.Sprintf("filler %d %s {%% include \"partials/q\" %%}", i, v)
	}
	return files
}
