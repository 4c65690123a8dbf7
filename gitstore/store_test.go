package gitstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/promptreg/promptreg/internal/gittest"
	"github.com/promptreg/promptreg/registry"
)

func TestOpen(t *testing.T) {
	r := gittest.New(t)
	c1 := r.Commit("first")

	t.Run("a Dir holding another URL's clone is EINVALID", func(t *testing.T) {
		dir := t.TempDir()
		s := openDir(t, r.Path(), dir)
		s.Close()
		other := gittest.New(t)
		other.Commit("other")
		_, err := Open(Options{URL: other.Path(), Dir: dir})
		wantCode(t, err, registry.EINVALID)
		if !strings.Contains(err.Error(), other.Path()) {
			t.Errorf("error = %v, want it to name %s", err, other.Path())
		}
	})

	t.Run("the same repository spelled otherwise is accepted", func(t *testing.T) {
		dir := t.TempDir()
		cloneInto(t, r.Path(), dir)
		t.Chdir(filepath.Dir(r.Path()))
		for _, url := range []string{r.URL(), r.Path() + "/", filepath.Base(r.Path())} {
			s, err := Open(Options{URL: url, Dir: dir})
			if err != nil {
				t.Fatalf("Open(%s): %v", url, err)
			}
			if got := refs(t, s)["refs/heads/main"]; got != c1 {
				t.Errorf("Open(%s): main = %s, want %s", url, got, c1)
			}
			s.Close()
		}
	})

	for name, url := range map[string]string{
		"a directory that is not a repository": t.TempDir(),
		"a path that does not exist":           filepath.Join(t.TempDir(), "nope"),
		"a file URL to nothing":                "file://" + filepath.Join(t.TempDir(), "nope"),
		"an unsupported scheme":                "ftp://example.com/repo.git",
		"a file URL with a host":               "file://example.com/repo.git",
		"no URL":                               "",
	} {
		t.Run(name+" is EINVALID", func(t *testing.T) {
			_, err := Open(Options{URL: url, Dir: t.TempDir()})
			wantCode(t, err, registry.EINVALID)
		})
	}

	t.Run("no Dir is EINVALID", func(t *testing.T) {
		_, err := Open(Options{URL: r.Path()})
		wantCode(t, err, registry.EINVALID)
	})

	t.Run("an invalid branch name is EINVALID", func(t *testing.T) {
		_, err := Open(Options{URL: r.Path(), Dir: t.TempDir(), Branch: "bad..name"})
		wantCode(t, err, registry.EINVALID)
	})

	t.Run("a remote URL opens without network I/O", func(t *testing.T) {
		// Nothing listens on port 1; Open must not try.
		s := openStore(t, "https://127.0.0.1:1/org/prompts.git")
		if got := refs(t, s); len(got) != 0 {
			t.Errorf("refs = %v, want none", got)
		}
	})

	t.Run("HEAD of the clone names the tracked branch", func(t *testing.T) {
		s := openWith(t, Options{URL: r.Path(), Dir: t.TempDir(), Branch: "release"})
		data, _ := os.ReadFile(filepath.Join(s.Path(), "HEAD"))
		if got, want := string(data), "ref: refs/heads/release\n"; got != want {
			t.Errorf("HEAD = %q, want %q", got, want)
		}
		if got, want := s.Branch(), "refs/heads/release"; got != want {
			t.Errorf("Branch() = %q, want %q", got, want)
		}
	})

	t.Run("the clone is bare and its origin is the repository", func(t *testing.T) {
		s := openStore(t, r.Path())
		got, err := gittest.Run(s.Path(), gittest.Epoch, "", "config", "--get", "remote.origin.url")
		if err != nil || got != r.Path() {
			t.Errorf("remote.origin.url = %q, %v, want %q", got, err, r.Path())
		}
		if bare, _ := gittest.Run(s.Path(), gittest.Epoch, "", "rev-parse", "--is-bare-repository"); bare != "true" {
			t.Errorf("is-bare-repository = %q, want true", bare)
		}
	})

	t.Run("git fsck finds the clone sound", func(t *testing.T) {
		s := fetched(t, r.URL())
		if _, err := gittest.Run(s.Path(), gittest.Epoch, "", "fsck", "--strict"); err != nil {
			t.Error(err)
		}
	})

	t.Run("calls after Close are EUNAVAILABLE", func(t *testing.T) {
		s := openStore(t, r.Path())
		s.Close()
		_, err := s.Refs(context.Background())
		wantCode(t, err, registry.EUNAVAILABLE)
		wantCode(t, s.Fetch(context.Background()), registry.EUNAVAILABLE)
		if err := s.Close(); err != nil {
			t.Errorf("second Close = %v, want nil", err)
		}
	})
}

func TestResolveLooseCommit(t *testing.T) {
	t.Parallel()
	r := gittest.New(t)
	c1 := r.Commit("first")
	s := fetched(t, r.Path())
	// A commit written as a loose object into the clone, as the coming
	// commit-on-behalf will.
	loose, err := gittest.Run(s.Path(), gittest.Epoch, "", "commit-tree", "-m", "loose", "-p", c1, c1+"^{tree}")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(s.Path(), "objects", loose[:2], loose[2:])); err != nil {
		t.Fatalf("want a loose object: %v", err)
	}
	got, err := s.ResolveCommit(context.Background(), loose[:7])
	if err != nil || got != loose {
		t.Errorf("ResolveCommit(%s) = %q, %v, want %q", loose[:7], got, err, loose)
	}
}

func TestHashesWithPrefixMatchesGoGit(t *testing.T) {
	t.Parallel()
	r := gittest.New(t)
	fastImport(t, r, 300, 0)
	s := fetched(t, r.Path())
	r.Write("more.prompt", "more")
	r.Commit("more")
	fetch(t, s) // a second pack
	s.mu.RLock()
	defer s.mu.RUnlock()
	for i := 0; i < 256; i += 5 {
		for _, prefix := range []string{fmt.Sprintf("%02x", i), fmt.Sprintf("%02x%x", i, i%16)} {
			fast, err := s.hashesWithPrefix(prefix)
			if err != nil {
				t.Fatal(err)
			}
			slow, err := s.hashesWithPrefixSlow(prefix)
			if err != nil {
				t.Fatal(err)
			}
			if len(fast) != len(slow) {
				t.Fatalf("prefix %s: got %d objects, go-git finds %d", prefix, len(fast), len(slow))
			}
		}
	}
}

// TestConcurrentReadsDuringFetch is not parallel: its readers spin, and
// would slow every other test down.
func TestConcurrentReadsDuringFetch(t *testing.T) {
	r := gittest.New(t)
	r.Write("prompts/a.prompt", "0")
	r.Commit("c0")
	s := openWith(t, Options{URL: r.URL(), Dir: t.TempDir(), MaxPacks: 3}) // repacks too
	fetch(t, s)

	stop := spinReaders(t, 3, func() error { return readAll(context.Background(), s) })
	const fetches = 8
	for i := 1; i <= fetches; i++ {
		r.Write("prompts/a.prompt", fmt.Sprint(i))
		r.Write(fmt.Sprintf("prompts/p%d.prompt", i), "new")
		r.Commit(fmt.Sprint("c", i))
		fetch(t, s)
	}
	errs, reads := stop()

	t.Run("readers saw no error", func(t *testing.T) {
		for _, err := range errs {
			t.Error(err)
		}
	})
	t.Run("readers ran during the fetches", func(t *testing.T) {
		for i, n := range reads {
			if n == 0 {
				t.Errorf("reader %d made no read", i)
			}
		}
	})
	t.Run("the last commit is served", func(t *testing.T) {
		data, err := s.ReadFile(context.Background(), refs(t, s)["refs/heads/main"], "prompts/a.prompt")
		if want := fmt.Sprint(fetches); err != nil || string(data) != want {
			t.Errorf("ReadFile = %q, %v, want %s", data, err, want)
		}
	})
}

// readAll makes every kind of read at the head of main.
func readAll(ctx context.Context, s *Store) error {
	refs, err := s.Refs(ctx)
	if err != nil {
		return fmt.Errorf("Refs: %w", err)
	}
	sha := refs["refs/heads/main"]
	if got, err := s.ResolveCommit(ctx, sha[:10]); err != nil || got != sha {
		return fmt.Errorf("ResolveCommit(%s) = %s, %w", sha[:10], got, err)
	}
	if _, err := s.Commit(ctx, sha); err != nil {
		return fmt.Errorf("Commit: %w", err)
	}
	files, err := s.ListFiles(ctx, sha, "prompts")
	if err != nil || len(files) == 0 {
		return fmt.Errorf("ListFiles = %d files, %w", len(files), err)
	}
	for _, f := range files {
		if _, err := s.ReadBlob(ctx, f.Blob); err != nil {
			return fmt.Errorf("ReadBlob(%s): %w", f.Path, err)
		}
	}
	if _, err := s.ReadFile(ctx, sha, "prompts/a.prompt"); err != nil {
		return fmt.Errorf("ReadFile: %w", err)
	}
	return nil
}
