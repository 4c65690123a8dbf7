package genrepo

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/promptreg/promptreg/internal/gittest"
)

const (
	testPrompts = 20
	testCommits = 50
)

func needGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		gittest.MissingTool(t, "git", err)
	}
}

func generate(t *testing.T, seed uint64) (string, Summary) {
	t.Helper()
	needGit(t)
	dir := t.TempDir()
	s, err := Generate(context.Background(), Options{Dir: dir, Prompts: testPrompts, Commits: testCommits, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return dir, s
}

func gitT(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := git(context.Background(), dir, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestGenerate(t *testing.T) {
	dir, s := generate(t, 1)
	t.Logf("%+v", s)

	if n := gitT(t, dir, "rev-list", "--count", "main"); n != strconv.Itoa(testCommits) || s.Commits != testCommits {
		t.Errorf("commits: git says %s, summary %d; want %d", n, s.Commits, testCommits)
	}
	if n := gitT(t, dir, "rev-list", "--count", "--merges", "main"); n != "0" {
		t.Errorf("%s merge commits, want a linear history", n)
	}
	if head := gitT(t, dir, "rev-parse", "HEAD"); head != s.Head {
		t.Errorf("HEAD %s, summary head %s", head, s.Head)
	}
	if b := gitT(t, dir, "symbolic-ref", "--short", "HEAD"); b != "main" {
		t.Errorf("checked out %s, want main", b)
	}
	if st := gitT(t, dir, "status", "--porcelain"); st != "" {
		t.Errorf("working tree not clean:\n%s", st)
	}

	// Files at the head: the prompts, promptreg.yaml and README.md.
	files := lines(gitT(t, dir, "ls-tree", "-r", "--name-only", "main"))
	var prompts int
	for _, f := range files {
		switch filepath.Ext(f) {
		case ".prompt", ".jinja", ".j2":
			prompts++
		}
	}
	if prompts != s.Prompts || len(files) != s.Prompts+2 {
		t.Errorf("%d files, %d prompts at head; summary says %d prompts", len(files), prompts, s.Prompts)
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "promptreg.yaml"))
	if err != nil || !strings.Contains(string(cfg), "production: refs/tags/production") || !strings.Contains(string(cfg), "staging: refs/tags/staging") {
		t.Errorf("promptreg.yaml: %q, %v", cfg, err)
	}

	// Every commit changes something.
	for _, c := range lines(gitT(t, dir, "log", "--format=%H", "main")) {
		if gitT(t, dir, "diff-tree", "--root", "--no-commit-id", "-r", "--name-only", c) == "" {
			t.Errorf("commit %s changes nothing", c)
		}
	}

	// The busiest prompt: changed by more commits than any other path, and
	// never moved.
	touches := map[string]int{}
	for _, f := range lines(gitT(t, dir, "log", "--no-renames", "--format=", "--name-only", "main")) {
		touches[f]++
	}
	if touches[s.BusiestPath] != s.BusiestTouches {
		t.Errorf("busiest %s changed by %d commits, summary says %d", s.BusiestPath, touches[s.BusiestPath], s.BusiestTouches)
	}
	if stem(s.BusiestPath) != s.Busiest {
		t.Errorf("busiest name %q, path %q", s.Busiest, s.BusiestPath)
	}
	for f, n := range touches {
		if f != s.BusiestPath && n >= touches[s.BusiestPath] {
			t.Errorf("%s changed by %d commits, the busiest %s by %d", f, n, s.BusiestPath, touches[s.BusiestPath])
		}
	}

	// Reverts: a modification to a blob that history had before.
	if s.Ops.Reverts == 0 {
		t.Fatalf("no revert in %+v", s.Ops)
	}
	seen := map[string]bool{}
	back := 0
	for _, l := range lines(gitT(t, dir, "log", "--first-parent", "--reverse", "--raw", "--no-abbrev", "--no-renames", "--format=", "main")) {
		// :100644 100644 <old> <new> M\tpath
		f := strings.Fields(l)
		if len(f) < 6 {
			continue
		}
		if f[4] == "M" && seen[f[3]] && f[3] != f[2] {
			back++
		}
		seen[f[3]] = true
	}
	if back < s.Ops.Reverts {
		t.Errorf("%d modifications back to an earlier blob, want at least the %d reverts", back, s.Ops.Reverts)
	}

	// The environment tags trail the head.
	for _, tg := range []struct{ name, sha string }{{"staging", s.Staging}, {"production", s.Production}} {
		c := gitT(t, dir, "rev-parse", "refs/tags/"+tg.name+"^{commit}")
		if c != tg.sha {
			t.Errorf("tag %s at %s, summary says %s", tg.name, c, tg.sha)
		}
		if c == s.Head {
			t.Errorf("tag %s at the head", tg.name)
		}
		if _, err := git(context.Background(), dir, "merge-base", "--is-ancestor", c, "main"); err != nil {
			t.Errorf("tag %s (%s) is not on main: %v", tg.name, c, err)
		}
	}
	if _, err := git(context.Background(), dir, "merge-base", "--is-ancestor", s.Production, s.Staging); err != nil {
		t.Errorf("production %s is not behind staging %s", s.Production, s.Staging)
	}
}

// TestGenerateLarger checks the rarer changes on a longer history: renames
// keep the prompt's name, deleted prompts come back, and broken files are
// all fixed by the end.
func TestGenerateLarger(t *testing.T) {
	needGit(t)
	dir := t.TempDir()
	s, err := Generate(context.Background(), Options{Dir: dir, Prompts: 60, Commits: 600, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	o := s.Ops
	if o.Renames == 0 || o.Deletes == 0 || o.Recreates == 0 || o.Breaks == 0 || o.Breaks != o.Fixes || o.TagMoves == 0 {
		t.Fatalf("ops %+v: want some of each, and every break fixed", o)
	}
	// Each rename: one path deleted, one added, the added file names the
	// prompt after the deleted path (or the deleted file already did).
	renames := 0
	for _, c := range lines(gitT(t, dir, "log", "--format=%H", "--grep=: move from ", "main")) {
		var from, to string
		for _, l := range lines(gitT(t, dir, "diff-tree", "--no-commit-id", "-r", "--no-renames", "--name-status", c)) {
			f := strings.Fields(l)
			msg := gitT(t, dir, "log", "-1", "--format=%B", c)
			if f[0] == "D" && strings.Contains(msg, "move from "+f[1]+" to ") {
				from = f[1]
			}
			if f[0] == "A" && strings.Contains(msg, " to "+f[1]) {
				to = f[1]
			}
		}
		if from == "" || to == "" {
			t.Errorf("rename commit %s: no delete and add pair", c)
			continue
		}
		renames++
		old := gitT(t, dir, "show", c+"^:"+from)
		now := gitT(t, dir, "show", c+":"+to)
		name := nameLine(old)
		if name == "" {
			name = stem(from)
		}
		if nameLine(now) != name {
			t.Errorf("%s → %s: name line %q, want %q", from, to, nameLine(now), name)
		}
		if nameLine(old) != "" && old != now {
			t.Errorf("%s → %s: a file that names itself should move byte for byte", from, to)
		}
	}
	if renames != o.Renames {
		t.Errorf("found %d rename commits, summary says %d renames", renames, o.Renames)
	}
	// No broken file at the head.
	for _, f := range lines(gitT(t, dir, "ls-files")) {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		c := string(b)
		if strings.Count(c, "{% if ") != strings.Count(c, "{% endif %}") || strings.Contains(c, "description: Note: ") || isUnclosedTags(c) {
			t.Errorf("%s is broken at the head:\n%s", f, c)
		}
	}
}

func isUnclosedTags(content string) bool {
	f := splitFile(content)
	i := f.fmIndex("tags")
	return i >= 0 && !strings.HasSuffix(f.fm[i], "]")
}

func TestDeterministic(t *testing.T) {
	_, a := generate(t, 1)
	_, b := generate(t, 1)
	_, c := generate(t, 2)
	if a.Head != b.Head || a.Staging != b.Staging || a.Production != b.Production {
		t.Errorf("seed 1 twice: %s and %s", a.Head, b.Head)
	}
	if a.Head == c.Head {
		t.Errorf("seeds 1 and 2 both give %s", a.Head)
	}
}

func TestAppend(t *testing.T) {
	dir1, s1 := generate(t, 3)
	dir2, _ := generate(t, 3)
	const n = 17
	a1, err := Append(context.Background(), dir1, n)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := Append(context.Background(), dir2, n)
	if err != nil {
		t.Fatal(err)
	}
	if a1.Head != a2.Head {
		t.Errorf("same repository appended twice: %s and %s", a1.Head, a2.Head)
	}
	if got := gitT(t, dir1, "rev-list", "--count", s1.Head+"..main"); got != strconv.Itoa(n) || a1.Added != n || a1.Commits != testCommits+n {
		t.Errorf("append %d: %s new commits, summary %+v", n, got, a1)
	}
	if got := gitT(t, dir1, "rev-list", "--count", "main"); got != strconv.Itoa(testCommits+n) {
		t.Errorf("%s commits after append, want %d", got, testCommits+n)
	}
	if st := gitT(t, dir1, "status", "--porcelain"); st != "" {
		t.Errorf("working tree not clean after append:\n%s", st)
	}
	if files := lines(gitT(t, dir1, "ls-files", "*.prompt", "*.jinja", "*.j2")); len(files) != a1.Prompts {
		t.Errorf("%d prompt files after append, summary says %d", len(files), a1.Prompts)
	}
	if a1.Busiest != s1.Busiest || a1.BusiestTouches < s1.BusiestTouches {
		t.Errorf("busiest changed: %+v then %+v", s1, a1)
	}
	// Appending twice continues the same way again.
	b1, err := Append(context.Background(), dir1, 5)
	if err != nil {
		t.Fatal(err)
	}
	if got := gitT(t, dir1, "rev-list", "--count", a1.Head+"..main"); got != "5" || b1.Commits != testCommits+n+5 {
		t.Errorf("second append: %s new commits, summary %+v", got, b1)
	}
}

func TestAppendRefuses(t *testing.T) {
	needGit(t)
	if _, err := Append(context.Background(), t.TempDir(), 1); !errors.Is(err, ErrNoState) {
		t.Errorf("append to an empty directory: %v, want ErrNoState", err)
	}
	dir, _ := generate(t, 4)
	if _, err := Generate(context.Background(), Options{Dir: dir, Prompts: 5, Commits: 5}); err == nil {
		t.Error("Generate into a non-empty directory succeeded")
	}
	// Someone else commits: the generator's state no longer describes main.
	gitT(t, dir, "-c", "user.name=x", "-c", "user.email=x@example.com", "commit", "-q", "--allow-empty", "-m", "manual")
	if _, err := Append(context.Background(), dir, 1); err == nil || !strings.Contains(err.Error(), "did not write") {
		t.Errorf("append after a foreign commit: %v", err)
	}
}

func TestEditAlwaysChanges(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	w := writer{r}
	for i := range 300 {
		spec := promptSpec{name: "team-1/x", topic: "support", explicitName: i%4 == 0 && i%5 != 0, frontMatter: i%5 != 0, chat: i%3 != 0, partials: []string{"partials/safety"}}
		c := w.newContent(spec)
		if got := nameLine(c); spec.explicitName && got != "team-1/x" || !spec.explicitName && got != "" {
			t.Fatalf("name line %q in\n%s", got, c)
		}
		for range 50 {
			next, what := w.edit(c, "support", spec.partials, false)
			if next == c {
				t.Fatalf("edit %q changed nothing:\n%s", what, c)
			}
			if strings.Count(next, "{% if ") != strings.Count(next, "{% endif %}") {
				t.Fatalf("edit %q unbalanced the blocks:\n%s", what, next)
			}
			if n := len(splitFile(next).textLines()); n > maxTextLines+3 {
				t.Fatalf("%d instruction lines after %q:\n%s", n, what, next)
			}
			c = next
		}
		broken, _ := w.breakContent(c)
		if broken == c {
			t.Fatalf("break changed nothing:\n%s", c)
		}
		if got := withName(c, "team-2/y"); nameLine(got) != "team-2/y" || !strings.HasPrefix(got, "---\nname: team-2/y\n") {
			t.Fatalf("withName:\n%s", got)
		}
	}
}

func TestDropBlocks(t *testing.T) {
	body := []string{"a", "{% if x %}", "b", "{% if y %}", "{% endif %}", "{% endif %}", "c"}
	if got := dropEmptyBlocks(slices.Clone(body)); !slices.Equal(got, []string{"a", "{% if x %}", "b", "{% endif %}", "c"}) {
		t.Errorf("dropEmptyBlocks: %q", got)
	}
	if got, ok := dropBlock(slices.Clone(body), 0); !ok || !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("dropBlock 0: %q %v", got, ok)
	}
	if got, ok := dropBlock(slices.Clone(body), 1); !ok || !slices.Equal(got, []string{"a", "{% if x %}", "b", "{% endif %}", "c"}) {
		t.Errorf("dropBlock 1: %q %v", got, ok)
	}
}
