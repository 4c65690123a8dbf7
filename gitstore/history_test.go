package gitstore

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/promptreg/promptreg/internal/gittest"
	"github.com/promptreg/promptreg/registry"
)

// emptyTreeSHA is the sha of Git's empty tree, which git knows without
// storing it.
const emptyTreeSHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"

func TestFirstParents(t *testing.T) {
	t.Parallel()
	r, c1, c2 := twoCommits(t)
	r.Git("checkout", "-q", "-b", "feature")
	r.Write("f.prompt", "1")
	f1 := r.Commit("f1")
	r.Write("f.prompt", "2")
	r.Commit("f2")
	r.Git("checkout", "-q", "main")
	r.Write("a.prompt", "3")
	c3 := r.Commit("c3")
	r.Git("merge", "-q", "--no-ff", "-m", "merge feature", "feature")
	m := r.Git("rev-parse", "HEAD")
	r.Write("a.prompt", "4")
	c4 := r.Commit("c4")
	s := fetched(t, r.URL())
	ctx := context.Background()

	if want := strings.Fields(r.Git("rev-list", "--first-parent", c4)); !slices.Equal(want, []string{c4, m, c3, c2, c1}) {
		t.Fatalf("test setup: git rev-list --first-parent = %v", want)
	}
	is := func(sha string) func(string) bool { return func(s string) bool { return s == sha } }
	for _, tc := range []struct {
		name      string
		head      string
		stop      func(string) bool
		wantChain []string
		wantBase  string
	}{
		{"to the root, first parents only", c4, nil, []string{c4, m, c3, c2, c1}, ""},
		{"stop before a commit", c4, is(c2), []string{c4, m, c3}, c2},
		{"stop at the head", c4, is(c4), nil, c4},
		{"stop at the root", c4, is(c1), []string{c4, m, c3, c2}, c1},
		{"a second parent never stops the walk", c4, is(f1), []string{c4, m, c3, c2, c1}, ""},
		{"from the root", c1, func(string) bool { return false }, []string{c1}, ""},
		{"from the side branch", f1, nil, []string{f1, c2, c1}, ""},
	} {
		chain, base, err := s.FirstParents(ctx, tc.head, tc.stop)
		if err != nil {
			t.Errorf("%s: FirstParents: %v", tc.name, err)
			continue
		}
		if !slices.Equal(chain, tc.wantChain) || base != tc.wantBase {
			t.Errorf("%s: FirstParents = %v, %q; want %v, %q", tc.name, chain, base, tc.wantChain, tc.wantBase)
		}
	}

	t.Run("errors", func(t *testing.T) {
		_, _, err := s.FirstParents(ctx, strings.Repeat("0", 40), nil)
		wantCode(t, err, registry.ENOTFOUND)
		_, _, err = s.FirstParents(ctx, c4[:10], nil)
		wantCode(t, err, registry.EINVALID)
		tree := r.Git("rev-parse", c4+"^{tree}")
		_, _, err = s.FirstParents(ctx, tree, nil)
		wantCode(t, err, registry.ENOTFOUND)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, _, err = s.FirstParents(cctx, c4, nil)
		wantCode(t, err, registry.ETIMEOUT)
	})
}

// TestFirstParentsLong walks a long history and checks it against git.
func TestFirstParentsLong(t *testing.T) {
	t.Parallel()
	r := gittest.New(t)
	fastImport(t, r, 3000, 0)
	s := fetched(t, r.URL())
	head := r.Git("rev-parse", "HEAD")
	want := strings.Fields(r.Git("rev-list", "--first-parent", head))
	start := time.Now()
	chain, base, err := s.FirstParents(context.Background(), head, nil)
	elapsed := time.Since(start)
	if err != nil || base != "" || !slices.Equal(chain, want) {
		t.Fatalf("FirstParents = %d commits, %q, %v; want the %d of git rev-list", len(chain), base, err, len(want))
	}
	t.Logf("FirstParents: %d commits in %v", len(chain), elapsed)

	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, _, err = s.FirstParents(ctx, head, func(string) bool {
		if n++; n == 1500 {
			cancel()
		}
		return false
	})
	wantCode(t, err, registry.ETIMEOUT)
}

// historyRepo builds a repository whose commits exercise every kind of
// change Diff reports, and returns it with its commits, oldest first.
func historyRepo(t *testing.T) (*gittest.Repo, []string) {
	t.Helper()
	r := gittest.New(t)
	var commits []string
	commit := func(msg string) { commits = append(commits, r.Commit(msg)) }
	symlink := func(target, name string) {
		t.Helper()
		r.Remove(name)
		if err := os.Symlink(target, filepath.Join(r.Path(), name)); err != nil {
			t.Fatal(err)
		}
	}
	chmod := func(name string, mode os.FileMode) {
		t.Helper()
		if err := os.Chmod(filepath.Join(r.Path(), name), mode); err != nil {
			t.Fatal(err)
		}
	}

	// Names that sort differently as files and as directories in Git's
	// tree order: foo-bar < foo.prompt < foo/ < foo0.
	r.Write("a.prompt", "a1")
	r.Write("b.prompt", "b1")
	r.Write("dir/x.prompt", "x1")
	r.Write("dir/sub/y.prompt", "y1")
	r.Write("dir/sub/deep/z.prompt", "z1")
	r.Write("other/o.prompt", "o1")
	r.Write("foo-bar", "fb1")
	r.Write("foo.prompt", "f1")
	r.Write("foo/in.prompt", "fi1")
	r.Write("foo0", "f01")
	r.Write("run.sh", "#!/bin/sh\n")
	chmod("run.sh", 0o755)
	for i := range 50 {
		r.Write(fmt.Sprintf("flat/p%02d.prompt", i), fmt.Sprint("p", i))
	}
	symlink("a.prompt", "link")
	commit("root")

	r.Write("a.prompt", "a2")                // edit
	r.Write("dir/sub/new.prompt", "n1")      // add, nested
	r.Remove("b.prompt")                     // delete
	r.Write("flat/p25.prompt", "p25 edited") // edit in a big directory
	r.Write("flat/p49.prompt", "p49 edited") // its last entry
	r.Write("foo/in.prompt", "fi2")          // a directory between foo.prompt and foo0
	commit("edit, add, delete")

	r.Remove("dir/x.prompt") // renames: a delete and an add
	r.Write("dir/moved/x.prompt", "x1")
	r.Remove("other/o.prompt")
	r.Write("other/o2.prompt", "o1")
	r.Write("foo0", "f02")
	r.Write("foo-bar", "fb2")
	commit("renames")

	symlink("dir/sub/y.prompt", "a.prompt") // a file becomes a symlink: deleted
	r.Remove("link")                        // a symlink becomes a file: added
	r.Write("link", "now a file")
	commit("type changes")

	r.Remove("other/o2.prompt") // a file becomes a directory
	r.Write("other/o2.prompt/inner.prompt", "inner")
	r.Remove("dir/sub/deep") // a directory becomes a file
	r.Write("dir/sub/deep", "deep file")
	r.Remove("foo")
	r.Write("foo", "foo is a file now")
	commit("file to dir and back")

	r.Git("update-index", "--add", "--cacheinfo", "160000,"+commits[0]+",mod")
	if err := os.MkdirAll(filepath.Join(r.Path(), "mod"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.Write("dir/sub/y.prompt", "y2")
	commit("submodule")

	chmod("dir/sub/y.prompt", 0o755) // a mode change alone
	r.Write("run.sh", "#!/bin/sh\necho hi\n")
	commit("mode change")

	commit("empty")

	r.Remove("dir")
	r.Remove("a.prompt")
	r.Write("a.prompt", "a3") // the symlink becomes a file again
	commit("remove a directory")
	return r, commits
}

// gitDiff returns what Diff should return for from..to under dir, from git
// diff-tree: the changes to regular files, a file that becomes a symlink or
// submodule deleted, mode-only changes left out.
func gitDiff(t *testing.T, r *gittest.Repo, from, to, dir string, sizes map[string]int64) []registry.Change {
	t.Helper()
	if from == "" {
		from = emptyTreeSHA
	}
	if to == "" {
		to = emptyTreeSHA
	}
	out := r.Git("diff-tree", "-r", "--no-renames", "--no-abbrev", from, to)
	changes := []registry.Change{}
	isFile := func(mode string) bool { return mode == "100644" || mode == "100755" }
	for line := range strings.Lines(out) {
		meta, path, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "\t")
		f := strings.Fields(strings.TrimPrefix(meta, ":"))
		if !ok || len(f) != 5 {
			t.Fatalf("git diff-tree line %q", line)
		}
		oldMode, newMode, oldSHA, newSHA := f[0], f[1], f[2], f[3]
		if dir != "" && !strings.HasPrefix(path, dir+"/") {
			continue
		}
		switch {
		case isFile(oldMode) && isFile(newMode) && oldSHA == newSHA:
		case isFile(newMode):
			size, ok := sizes[newSHA]
			if !ok {
				s, err := strconv.ParseInt(r.Git("cat-file", "-s", newSHA), 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				size, sizes[newSHA] = s, s
			}
			changes = append(changes, registry.Change{Path: path, Blob: newSHA, Size: size})
		case isFile(oldMode):
			changes = append(changes, registry.Change{Path: path})
		}
	}
	slices.SortFunc(changes, func(a, b registry.Change) int { return strings.Compare(a.Path, b.Path) })
	return changes
}

func TestDiffMatchesGit(t *testing.T) {
	t.Parallel()
	r, commits := historyRepo(t)
	s := fetched(t, r.URL())
	ctx := context.Background()

	if got := r.Git("diff-tree", "-r", "--no-renames", commits[4], commits[5]); !strings.Contains(got, "160000") {
		t.Fatalf("test setup: no submodule was added: %s", got)
	}
	points := append([]string{""}, commits...)
	dirs := []string{"", "dir", "dir/sub", "dir/sub/deep", "other", "foo", "flat", "missing", "a.prompt"}
	sizes := map[string]int64{}
	checked := 0
	for i, from := range points {
		for j, to := range points {
			if i == j {
				continue
			}
			want := gitDiff(t, r, from, to, "", sizes)
			for _, dir := range dirs {
				var wantDir []registry.Change
				for _, c := range want {
					if dir == "" || strings.HasPrefix(c.Path, dir+"/") {
						wantDir = append(wantDir, c)
					}
				}
				got, err := s.Diff(ctx, from, to, dir)
				if err != nil {
					t.Fatalf("Diff(%.7s, %.7s, %q): %v", from, to, dir, err)
				}
				if len(got) == 0 && len(wantDir) == 0 {
					continue
				}
				if !reflect.DeepEqual(got, wantDir) {
					t.Errorf("Diff(%.7s, %.7s, %q) =\n%v\nwant (git diff-tree)\n%v", from, to, dir, got, wantDir)
				}
				checked++
			}
		}
	}
	t.Logf("%d non-empty diffs agree with git diff-tree", checked)

	t.Run("a trailing slash in dir is ignored", func(t *testing.T) {
		a, err1 := s.Diff(ctx, commits[0], commits[1], "dir/")
		b, err2 := s.Diff(ctx, commits[0], commits[1], "dir")
		if err1 != nil || err2 != nil || !reflect.DeepEqual(a, b) || len(a) == 0 {
			t.Errorf("Diff(dir/) = %v, %v; Diff(dir) = %v, %v", a, err1, b, err2)
		}
	})
	t.Run("no change is an empty list", func(t *testing.T) {
		got, err := s.Diff(ctx, commits[6], commits[7], "")
		if err != nil || got == nil || len(got) != 0 {
			t.Errorf("Diff of an empty commit = %#v, %v; want an empty list", got, err)
		}
	})
	t.Run("errors", func(t *testing.T) {
		_, err := s.Diff(ctx, "", strings.Repeat("1", 40), "")
		wantCode(t, err, registry.ENOTFOUND)
		_, err = s.Diff(ctx, strings.Repeat("1", 40), commits[0], "")
		wantCode(t, err, registry.ENOTFOUND)
		blob := r.Git("rev-parse", commits[0]+":a.prompt")
		_, err = s.Diff(ctx, "", blob, "")
		wantCode(t, err, registry.ENOTFOUND)
		_, err = s.Diff(ctx, "", "HEAD", "")
		wantCode(t, err, registry.EINVALID)
		for _, dir := range []string{"/dir", "../dir", "dir/../x", "./dir"} {
			_, err = s.Diff(ctx, "", commits[0], dir)
			wantCode(t, err, registry.EINVALID)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err = s.Diff(cctx, "", commits[0], "")
		wantCode(t, err, registry.ETIMEOUT)
	})
}

// TestRawTreeOrder checks that a tree whose entries are not in Git's order
// (git fsck refuses such trees, but a clone may hold one) is sorted before
// the merge, and that malformed trees are errors.
func TestRawTreeOrder(t *testing.T) {
	t.Parallel()
	entry := func(mode, name string) string { return mode + " " + name + "\x00" + strings.Repeat("\x01", 20) }
	tr := &rawTree{raw: []byte(entry("100644", "foo0") + entry("40000", "foo") + entry("100644", "foo.prompt") + entry("100644", "foo-bar"))}
	if err := tr.parse(); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range tr.entries {
		names = append(names, string(e.name))
	}
	if want := []string{"foo-bar", "foo.prompt", "foo", "foo0"}; !slices.Equal(names, want) {
		t.Errorf("entries = %v, want Git's order %v", names, want)
	}
	for _, bad := range []string{"100644 x", "100644 \x00" + strings.Repeat("a", 20), "10x644 x\x00" + strings.Repeat("a", 20), entry("100644", "x")[:20]} {
		tr := &rawTree{raw: []byte(bad)}
		if err := tr.parse(); err == nil {
			t.Errorf("parse(%q) succeeded, want an error", bad)
		}
	}
}

func TestTagger(t *testing.T) {
	t.Parallel()
	r := gittest.New(t)
	r.Write("a.prompt", "1")
	c1 := r.Commit("c1")
	r.TagAnnotated("production", c1, "release 1")
	r.Tag("staging", c1)
	when := r.Git("for-each-ref", "--format=%(taggerdate:unix)", "refs/tags/production")
	s := fetched(t, r.URL())
	ctx := context.Background()

	got, err := s.Tagger(ctx, "refs/tags/production")
	if err != nil || got == nil {
		t.Fatalf("Tagger(annotated) = %v, %v", got, err)
	}
	if got.Name != gittest.AuthorName || got.Email != gittest.AuthorEmail || strconv.FormatInt(got.Time.Unix(), 10) != when || got.Time.Location() != time.UTC {
		t.Errorf("Tagger(annotated) = %+v, want %s <%s> at %s UTC", got, gittest.AuthorName, gittest.AuthorEmail, when)
	}
	for _, ref := range []string{"refs/tags/staging", "refs/heads/main", "refs/tags/gone", "refs/pull/1/head"} {
		if got, err := s.Tagger(ctx, ref); got != nil || err != nil {
			t.Errorf("Tagger(%s) = %+v, %v; want nil, nil", ref, got, err)
		}
	}
	for _, ref := range []string{"production", "tags/production", "refs/tags/a b", "refs/tags/*", "refs/tags/../x", ""} {
		_, err := s.Tagger(ctx, ref)
		wantCode(t, err, registry.EINVALID)
	}
}

func TestFetchRef(t *testing.T) {
	t.Parallel()
	r := gittest.New(t)
	r.Write("prompts/a.prompt", "1")
	c1 := r.Commit("c1")
	s := fetched(t, r.URL())
	ctx := context.Background()

	// A pull request: a commit no branch or tag reaches.
	r.Git("checkout", "-q", "-b", "pr")
	r.Write("prompts/a.prompt", "from the pull request")
	r.Write("prompts/new.prompt", "new")
	pr := r.Commit("pr")
	r.Git("checkout", "-q", "main")
	r.DeleteBranch("pr")
	r.Git("update-ref", "refs/pull/1/head", pr)
	fetch(t, s) // brings nothing: refs/pull is not fetched
	if _, err := s.Commit(ctx, pr); registry.ErrorCode(err) != registry.ENOTFOUND {
		t.Fatalf("before FetchRef, Commit(pr) = %v, want ENOTFOUND", err)
	}

	t.Run("a ref in a custom namespace", func(t *testing.T) {
		got, err := s.FetchRef(ctx, "refs/pull/1/head")
		if err != nil || got != pr {
			t.Fatalf("FetchRef = %q, %v; want %s", got, err, pr)
		}
		changes, err := s.Diff(ctx, c1, pr, "prompts")
		if err != nil || len(changes) != 2 {
			t.Errorf("Diff(main, pr) = %v, %v; want 2 changes", changes, err)
		}
		data, err := s.ReadFile(ctx, pr, "prompts/new.prompt")
		if err != nil || string(data) != "new" {
			t.Errorf("ReadFile(pr) = %q, %v", data, err)
		}
		// Fetched again while it has not moved: no fetch, same answer.
		if got, err := s.FetchRef(ctx, "refs/pull/1/head"); err != nil || got != pr {
			t.Errorf("FetchRef again = %q, %v; want %s", got, err, pr)
		}
	})
	t.Run("a force-pushed pull request follows", func(t *testing.T) {
		r.Git("checkout", "-q", "-b", "pr2", c1)
		r.Write("prompts/a.prompt", "force-pushed")
		pr2 := r.Commit("pr2")
		r.Git("checkout", "-q", "main")
		r.DeleteBranch("pr2")
		r.Git("update-ref", "refs/pull/1/head", pr2)
		got, err := s.FetchRef(ctx, "refs/pull/1/head")
		if err != nil || got != pr2 {
			t.Fatalf("FetchRef = %q, %v; want %s", got, err, pr2)
		}
	})
	t.Run("a branch and an annotated tag made since the last fetch", func(t *testing.T) {
		r.Write("prompts/b.prompt", "b")
		c2 := r.Commit("c2")
		r.ForceBranch("dev", c2)
		r.TagAnnotated("v2", c2, "v2")
		for _, ref := range []string{"refs/heads/dev", "refs/tags/v2"} {
			got, err := s.FetchRef(ctx, ref)
			if err != nil || got != c2 {
				t.Errorf("FetchRef(%s) = %q, %v; want %s", ref, got, err, c2)
			}
		}
		if sig, err := s.Tagger(ctx, "refs/tags/v2"); err != nil || sig == nil {
			t.Errorf("Tagger of the fetched tag = %v, %v", sig, err)
		}
	})
	t.Run("a ref the remote does not have", func(t *testing.T) {
		for _, ref := range []string{"refs/pull/2/head", "refs/heads/nope", "refs/pull/1"} {
			_, err := s.FetchRef(ctx, ref)
			wantCode(t, err, registry.ENOTFOUND)
		}
	})
	t.Run("invalid ref names", func(t *testing.T) {
		for _, ref := range []string{
			"", "main", "heads/main", "refs/pull/../x", "refs/pull/1/head ", "refs/a b",
			"refs/heads/*", "refs/heads/a:refs/heads/b", "refs/heads/x\x01", "refs/heads/x\x7f",
			"refs/heads/", "refs//x", "refs/heads/x.lock", "refs/heads/a~1", "refs/heads/@{0}",
		} {
			_, err := s.FetchRef(ctx, ref)
			wantCode(t, err, registry.EINVALID)
		}
	})
	t.Run("an unreachable remote", func(t *testing.T) {
		gone := gittest.New(t)
		gone.Write("a", "a")
		gone.Commit("c")
		s := fetched(t, gone.Path())
		if err := os.RemoveAll(gone.Path()); err != nil {
			t.Fatal(err)
		}
		_, err := s.FetchRef(ctx, "refs/heads/main")
		wantCode(t, err, registry.EUNAVAILABLE)
	})
	t.Run("an expired context", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := s.FetchRef(cctx, "refs/pull/1/head")
		wantCode(t, err, registry.ETIMEOUT)
	})
}

// TestHistoryDuringFetch reads history while Fetch and FetchRef bring new
// commits and repack (run with -race). Not parallel: its readers spin.
func TestHistoryDuringFetch(t *testing.T) {
	r := gittest.New(t)
	for i := range 20 {
		r.Write(fmt.Sprintf("prompts/p%d.prompt", i), "0")
	}
	r.Commit("c0")
	s := openWith(t, Options{URL: r.URL(), Dir: t.TempDir(), MaxPacks: 3})
	fetch(t, s)

	stop := spinReaders(t, 3, func() error { return walkHistory(context.Background(), s) })
	const fetches = 8
	for i := 1; i <= fetches; i++ {
		r.Write(fmt.Sprintf("prompts/p%d.prompt", i), fmt.Sprint(i))
		r.Write(fmt.Sprintf("prompts/new%d.prompt", i), "new")
		c := r.Commit(fmt.Sprint("c", i))
		r.Git("update-ref", fmt.Sprintf("refs/pull/%d/head", i), c)
		r.TagAnnotated("production", c, "release")
		fetch(t, s)
		if got, err := s.FetchRef(context.Background(), fmt.Sprintf("refs/pull/%d/head", i)); err != nil || got != c {
			t.Errorf("FetchRef = %q, %v; want %s", got, err, c)
		}
	}
	errs, reads := stop()
	for _, err := range errs {
		t.Error(err)
	}
	for i, n := range reads {
		if n == 0 {
			t.Errorf("reader %d made no read", i)
		}
	}
	chain, _, err := s.FirstParents(context.Background(), refs(t, s)["refs/heads/main"], nil)
	if err != nil || len(chain) != fetches+1 {
		t.Errorf("FirstParents at the end = %d commits, %v; want %d", len(chain), err, fetches+1)
	}
}

// walkHistory walks main's history and diffs every commit, as the history
// index does.
func walkHistory(ctx context.Context, s *Store) error {
	all, err := s.Refs(ctx)
	if err != nil {
		return fmt.Errorf("Refs: %w", err)
	}
	chain, _, err := s.FirstParents(ctx, all["refs/heads/main"], nil)
	if err != nil {
		return fmt.Errorf("FirstParents: %w", err)
	}
	for i, c := range chain {
		parent := ""
		if i+1 < len(chain) {
			parent = chain[i+1]
		}
		changes, err := s.Diff(ctx, parent, c, "prompts")
		if err != nil {
			return fmt.Errorf("Diff: %w", err)
		}
		if len(changes) == 0 {
			return fmt.Errorf("Diff(%s, %s) found no change", parent, c)
		}
	}
	if _, err := s.Tagger(ctx, "refs/tags/production"); err != nil {
		return fmt.Errorf("Tagger: %w", err)
	}
	return nil
}

// benchRepo builds, with one git fast-import run, a repository of files
// files in 20 directories (half of them one level deeper) and commits
// commits: the first adds every file, each later one edits one to five.
func benchRepo(b *testing.B, files, commits int) *gittest.Repo {
	r := gittest.New(b)
	rng := rand.New(rand.NewSource(1))
	path := func(i int) string {
		d := i % 20
		if d%2 == 1 {
			return fmt.Sprintf("prompts/team-%02d/sub/p%04d.prompt", d, i)
		}
		return fmt.Sprintf("prompts/team-%02d/p%04d.prompt", d, i)
	}
	var sb strings.Builder
	data := func(s string) { fmt.Fprintf(&sb, "data %d\n%s\n", len(s), s) }
	for c := range commits {
		fmt.Fprintf(&sb, "commit refs/heads/main\ncommitter %s <%s> %d +0000\n",
			gittest.AuthorName, gittest.AuthorEmail, gittest.Epoch.Unix()+int64(c)*60)
		data(fmt.Sprintf("commit %d", c))
		if c == 0 {
			for i := range files {
				fmt.Fprintf(&sb, "M 100644 inline %s\n", path(i))
				data(fmt.Sprintf("---\ndescription: prompt %d\n---\nsystem: You are prompt %d.\nuser: {{ input }}\n", i, i))
			}
			continue
		}
		for range 1 + rng.Intn(5) {
			i := rng.Intn(files)
			fmt.Fprintf(&sb, "M 100644 inline %s\n", path(i))
			data(fmt.Sprintf("---\ndescription: prompt %d\n---\nsystem: You are prompt %d, edited in commit %d.\nuser: {{ input }}\n", i, i, c))
		}
	}
	r.GitInput(sb.String(), "fast-import", "--quiet")
	return r
}

// BenchmarkHistoryWalk times what a first index of the history costs: the
// first-parent walk of main and a Diff of every commit against its parent,
// on a fresh Store (cold object cache) each time.
func BenchmarkHistoryWalk(b *testing.B) {
	for _, commits := range []int{3000, 10000} {
		b.Run(fmt.Sprintf("files=2000/commits=%d", commits), func(b *testing.B) {
			if commits > 3000 && testing.Short() {
				b.Skip("short")
			}
			r := benchRepo(b, 2000, commits)
			dir := b.TempDir()
			s, err := Open(Options{URL: r.URL(), Dir: dir})
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Fetch(context.Background()); err != nil {
				b.Fatal(err)
			}
			all, err := s.Refs(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			head := all["refs/heads/main"]
			s.Close()
			ctx := context.Background()
			b.ResetTimer()
			var walk, diff time.Duration
			changes := 0
			for range b.N {
				b.StopTimer()
				s, err := Open(Options{URL: r.URL(), Dir: dir})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				chain, _, err := s.FirstParents(ctx, head, nil)
				if err != nil || len(chain) != commits {
					b.Fatalf("FirstParents = %d commits, %v", len(chain), err)
				}
				walk += time.Since(start)
				start = time.Now()
				changes = 0
				for i, c := range chain {
					parent := ""
					if i+1 < len(chain) {
						parent = chain[i+1]
					}
					ch, err := s.Diff(ctx, parent, c, "")
					if err != nil {
						b.Fatal(err)
					}
					changes += len(ch)
				}
				diff += time.Since(start)
				b.StopTimer()
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(walk.Milliseconds())/float64(b.N), "ms-walk/op")
			b.ReportMetric(float64(diff.Milliseconds())/float64(b.N), "ms-diff/op")
			b.ReportMetric(float64(changes), "changes")
		})
	}
}

// TestPackPoolFollowsPacks checks that the history reader's pool sees every
// pack a fetch adds or a repack replaces, also once it trusts the pack
// directory's mtime (a stale pool would only be slower: objects it misses
// are read through go-git).
func TestPackPoolFollowsPacks(t *testing.T) {
	t.Parallel()
	r := gittest.New(t)
	r.Write("prompts/a.prompt", "0")
	r.Commit("c0")
	s := openWith(t, Options{URL: r.URL(), Dir: t.TempDir(), MaxPacks: 2})
	fetch(t, s)
	dir := filepath.Join(s.Path(), "objects", "pack")
	check := func(when string) {
		t.Helper()
		s.mu.RLock()
		or := s.objects()
		got := or.pool.names
		or.release()
		s.mu.RUnlock()
		want, err := listPacks(dir)
		if err != nil || len(want) == 0 || !slices.Equal(got, want) {
			t.Fatalf("%s: pool packs = %v, directory %v (%v)", when, got, want, err)
		}
	}
	for i := 1; i <= 4; i++ {
		// An old mtime: the pool lists the directory once, then trusts it.
		old := time.Now().Add(-time.Hour)
		if err := os.Chtimes(dir, old, old); err != nil {
			t.Fatal(err)
		}
		check("after setting an old mtime")
		check("trusting the mtime")
		r.Write("prompts/a.prompt", fmt.Sprint(i))
		c := r.Commit(fmt.Sprint("c", i))
		fetch(t, s)
		check(fmt.Sprintf("after fetch %d", i))
		if _, err := s.Diff(context.Background(), "", c, ""); err != nil {
			t.Fatal(err)
		}
	}
}

// TestKeepSurvivesForcePushAndRepack: a commit dropped from the branch by a
// force-push stays readable when kept, even after a repack.
func TestKeepSurvivesForcePushAndRepack(t *testing.T) {
	for _, keep := range []bool{true, false} {
		t.Run(map[bool]string{true: "kept", false: "not kept"}[keep], func(t *testing.T) {
			r := gittest.New(t)
			r.Write("a.prompt", "base")
			base := r.Commit("base")
			r.Write("a.prompt", "only in the dropped commit")
			dropped := r.Commit("dropped")
			s := openWith(t, Options{URL: r.Path(), Dir: t.TempDir(), MaxPacks: 1})
			fetch(t, s)
			if keep {
				if err := s.Keep(context.Background(), dropped); err != nil {
					t.Fatal(err)
				}
			}
			r.ForceBranch("main", base)
			r.Write("a.prompt", "rewritten")
			r.Commit("rewritten")
			fetch(t, s) // a second pack: over MaxPacks, so the clone is repacked
			_, err := s.ReadFile(context.Background(), dropped, "a.prompt")
			if keep && err != nil {
				t.Errorf("kept commit unreadable after the repack: %v", err)
			}
			if !keep && err == nil {
				t.Skip("go-git kept the unreachable commit anyway; nothing to compare against")
			}
			if refs(t, s)["refs/promptreg/keep/"+dropped] != "" {
				t.Errorf("the keep ref is listed among branches and tags")
			}
		})
	}
	if err := (&Store{}).Keep(context.Background(), "zz"); registry.ErrorCode(err) != registry.EINVALID {
		t.Errorf("Keep(zz) = %v, want EINVALID", err)
	}
}
