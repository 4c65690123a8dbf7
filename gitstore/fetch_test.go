package gitstore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promptreg/promptreg/internal/gittest"
	"github.com/promptreg/promptreg/registry"
)

func TestFetchInitialClone(t *testing.T) {
	t.Parallel()
	r, c1, c2 := twoCommits(t)
	r.Tag("v1", c1)
	r.ForceBranch("dev", c1)
	want := map[string]string{"refs/heads/main": c2, "refs/heads/dev": c1, "refs/tags/v1": c1}

	bare := filepath.Join(t.TempDir(), "bare.git")
	if _, err := gittest.Run(t.TempDir(), gittest.Epoch, "", "clone", "-q", "--bare", r.Path(), bare); err != nil {
		t.Fatal(err)
	}

	for name, url := range map[string]string{
		"local working repo path": r.Path(),
		"bare repo path":          bare,
		"file URL":                r.URL(),
	} {
		t.Run(name+" clones every branch and tag", func(t *testing.T) {
			s := openStore(t, url)
			if got := refs(t, s); len(got) != 0 {
				t.Fatalf("refs before the first fetch = %v, want none", got)
			}
			fetch(t, s)
			if got := refs(t, s); !equalMaps(got, want) {
				t.Errorf("refs = %v, want %v", got, want)
			}
			// The full history came, not just the tips.
			if _, err := s.Commit(context.Background(), c1); err != nil {
				t.Errorf("Commit(c1): %v", err)
			}
		})
	}

	t.Run("the user's repository is untouched", func(t *testing.T) {
		if got := r.Git("status", "--porcelain"); got != "" {
			t.Errorf("git status = %q, want clean", got)
		}
		if got := r.Git("for-each-ref", "--format=%(refname)"); strings.Contains(got, "remotes") {
			t.Errorf("refs of the user's repo = %q, want no remote refs", got)
		}
	})
}

func TestFetchFollowsTheRemote(t *testing.T) {
	t.Parallel()
	r, c1, c2 := twoCommits(t)
	r.Tag("production", c1)
	r.TagAnnotated("release", c1, "release notes")
	r.ForceBranch("feature", c2)
	r.Tag("old", c1)
	s := fetched(t, r.URL())

	t.Run("new commits are picked up", func(t *testing.T) {
		r.Write("a.prompt", "v3")
		c3 := r.Commit("c3")
		fetch(t, s)
		if got := refs(t, s)["refs/heads/main"]; got != c3 {
			t.Errorf("main = %s, want %s", got, c3)
		}
		data, err := s.ReadFile(context.Background(), c3, "a.prompt")
		if err != nil || string(data) != "v3" {
			t.Errorf("ReadFile = %q, %v, want v3", data, err)
		}
	})

	t.Run("moved tag is followed forward and backward", func(t *testing.T) {
		r.Tag("production", c2)
		fetch(t, s)
		if got := refs(t, s)["refs/tags/production"]; got != c2 {
			t.Fatalf("production after moving forward = %s, want %s", got, c2)
		}
		r.Tag("production", c1)
		fetch(t, s)
		if got := refs(t, s)["refs/tags/production"]; got != c1 {
			t.Errorf("production after moving back = %s, want %s", got, c1)
		}
	})

	t.Run("annotated tag is peeled to its commit, and follows when moved", func(t *testing.T) {
		if got := refs(t, s)["refs/tags/release"]; got != c1 {
			t.Errorf("release = %s, want commit %s", got, c1)
		}
		r.TagAnnotated("release", c2, "release notes 2")
		fetch(t, s)
		if got := refs(t, s)["refs/tags/release"]; got != c2 {
			t.Errorf("release after moving = %s, want commit %s", got, c2)
		}
	})

	t.Run("force-pushed branch is followed", func(t *testing.T) {
		r.Git("checkout", "-q", "feature")
		r.ForceBranch("feature", c1)
		r.Write("feature.prompt", "rewritten")
		rewritten := r.Commit("rewritten history")
		r.Git("checkout", "-q", "main")
		fetch(t, s)
		if got := refs(t, s)["refs/heads/feature"]; got != rewritten {
			t.Errorf("feature = %s, want %s", got, rewritten)
		}
	})

	t.Run("deleted branch and tag are pruned", func(t *testing.T) {
		r.DeleteBranch("feature")
		r.DeleteTag("old")
		fetch(t, s)
		got := refs(t, s)
		for _, name := range []string{"refs/heads/feature", "refs/tags/old"} {
			if _, ok := got[name]; ok {
				t.Errorf("refs = %v, want no %s", got, name)
			}
		}
		if _, ok := got["refs/heads/main"]; !ok {
			t.Errorf("refs = %v, want main kept", got)
		}
	})

	t.Run("nothing new is success", func(t *testing.T) {
		before := refs(t, s)
		fetch(t, s)
		if got := refs(t, s); !equalMaps(got, before) {
			t.Errorf("refs = %v, want unchanged %v", got, before)
		}
	})
}

func TestFetchUnreachableRemote(t *testing.T) {
	t.Parallel()
	r := gittest.New(t)
	r.Write("a.prompt", "hello")
	c1 := r.Commit("first")
	dir := t.TempDir()
	s := openDir(t, r.URL(), dir)
	fetch(t, s)
	if err := os.RemoveAll(r.Path()); err != nil {
		t.Fatal(err)
	}

	t.Run("fetch is EUNAVAILABLE", func(t *testing.T) {
		err := s.Fetch(context.Background())
		wantCode(t, err, registry.EUNAVAILABLE)
		if msg := registry.ErrorMessage(err); !strings.Contains(msg, "fetch origin") {
			t.Errorf("message = %q, want it to say fetch origin", msg)
		}
	})

	t.Run("reads still serve what was fetched", func(t *testing.T) {
		if got := refs(t, s)["refs/heads/main"]; got != c1 {
			t.Errorf("main = %s, want %s", got, c1)
		}
		if data, err := s.ReadFile(context.Background(), c1, "a.prompt"); err != nil || string(data) != "hello" {
			t.Errorf("ReadFile = %q, %v, want hello", data, err)
		}
	})

	t.Run("reopening without the remote still serves refs", func(t *testing.T) {
		s.Close()
		s2 := openDir(t, r.URL(), dir)
		if got := refs(t, s2)["refs/heads/main"]; got != c1 {
			t.Errorf("main after reopen = %s, want %s", got, c1)
		}
		wantCode(t, s2.Fetch(context.Background()), registry.EUNAVAILABLE)
	})
}

func TestFetchContext(t *testing.T) {
	t.Parallel()
	r := gittest.New(t)
	r.Commit("first")
	s := openStore(t, r.URL())

	t.Run("expired context is ETIMEOUT", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		wantCode(t, s.Fetch(ctx), registry.ETIMEOUT)
	})

	t.Run("fetch after an expired context succeeds", func(t *testing.T) {
		fetch(t, s)
	})
}

func TestFetchRepacks(t *testing.T) {
	t.Parallel()
	r := gittest.New(t)
	s := openWith(t, Options{URL: r.Path(), Dir: t.TempDir(), MaxPacks: 3})
	var shas []string
	for i := range 8 {
		r.Write("a.prompt", strings.Repeat("x", i+1))
		shas = append(shas, r.Commit("commit"))
		fetch(t, s)
	}
	packs, _ := filepath.Glob(filepath.Join(s.Path(), "objects", "pack", "*.pack"))

	t.Run("packs stay under the limit", func(t *testing.T) {
		if len(packs) > 3 {
			t.Errorf("packs = %d, want at most 3", len(packs))
		}
	})

	t.Run("git fsck finds the repacked clone sound", func(t *testing.T) {
		if _, err := gittest.Run(s.Path(), gittest.Epoch, "", "fsck", "--strict"); err != nil {
			t.Error(err)
		}
	})

	t.Run("every commit is still readable", func(t *testing.T) {
		for i, sha := range shas {
			data, err := s.ReadFile(context.Background(), sha, "a.prompt")
			if want := strings.Repeat("x", i+1); err != nil || string(data) != want {
				t.Errorf("ReadFile(%d) = %q, %v, want %q", i, data, err, want)
			}
		}
	})
}

// BenchmarkFetch measures the initial fetch of 2,000 commits, a fetch that
// finds nothing new, and a fetch of 10 new commits.
func BenchmarkFetch(b *testing.B) {
	r := gittest.New(b)
	fastImport(b, r, 2000, 0)
	b.Run("initial 2000 commits", func(b *testing.B) {
		for b.Loop() {
			s, err := Open(Options{URL: r.URL(), Dir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			if err := s.Fetch(context.Background()); err != nil {
				b.Fatal(err)
			}
			s.Close()
		}
	})
	s, err := Open(Options{URL: r.URL(), Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.Fetch(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Run("nothing new", func(b *testing.B) {
		for b.Loop() {
			if err := s.Fetch(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("10 new commits", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			fastImport(b, r, 10, 0)
			b.StartTimer()
			if err := s.Fetch(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
