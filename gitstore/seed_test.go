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

func TestSeed(t *testing.T) {
	t.Parallel()
	seed := t.TempDir()
	writeFile(t, seed, "promptreg.yaml", "root: .\n")
	writeFile(t, seed, "support/welcome.prompt", "Hello {{ name }}")
	writeFile(t, seed, ".git/HEAD", "not ours") // a seed folder inside a repository
	if err := os.Symlink("support/welcome.prompt", filepath.Join(seed, "link.prompt")); err != nil {
		t.Fatal(err)
	}
	git := func(dir string, args ...string) string {
		t.Helper()
		out, err := gittest.Run(dir, gittest.Epoch, "", args...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	repo := filepath.Join(t.TempDir(), "prompts")
	created, err := Seed(repo, seed, "main")

	t.Run("creates a working repository with the files committed", func(t *testing.T) {
		if err != nil || !created {
			t.Fatalf("Seed = %v, %v, want true, nil", created, err)
		}
		if got, want := git(repo, "ls-files"), "promptreg.yaml\nsupport/welcome.prompt"; got != want {
			t.Errorf("ls-files = %q, want %q", got, want)
		}
		if got := git(repo, "status", "--porcelain"); got != "" {
			t.Errorf("status = %q, want clean", got)
		}
		if got := git(repo, "rev-parse", "--abbrev-ref", "HEAD"); got != "main" {
			t.Errorf("branch = %q, want main", got)
		}
		want := "promptreg <promptreg@localhost> Seed prompt repository from " + seed
		if got := git(repo, "log", "--format=%an <%ae> %s"); got != want {
			t.Errorf("log = %q, want %q", got, want)
		}
	})

	t.Run("the user can commit into it", func(t *testing.T) {
		os.WriteFile(filepath.Join(repo, "new.prompt"), []byte("new"), 0o644)
		git(repo, "add", "-A")
		git(repo, "commit", "-q", "-m", "user commit")
		if got := git(repo, "rev-list", "--count", "HEAD"); got != "2" {
			t.Errorf("commits = %s, want 2", got)
		}
	})

	t.Run("a second Seed does nothing", func(t *testing.T) {
		head := git(repo, "rev-parse", "HEAD")
		created, err := Seed(repo, seed, "main")
		if err != nil || created {
			t.Errorf("Seed = %v, %v, want false, nil", created, err)
		}
		if got := git(repo, "rev-parse", "HEAD"); got != head {
			t.Errorf("HEAD = %s, want %s", got, head)
		}
	})

	t.Run("a Store serves it", func(t *testing.T) {
		s := fetched(t, repo)
		data, err := s.ReadFile(context.Background(), refs(t, s)["refs/heads/main"], "support/welcome.prompt")
		if err != nil || string(data) != "Hello {{ name }}" {
			t.Errorf("ReadFile = %q, %v", data, err)
		}
	})

	t.Run("an empty directory is seeded", func(t *testing.T) {
		empty := t.TempDir()
		created, err := Seed(empty, seed, "trunk")
		if err != nil || !created {
			t.Fatalf("Seed = %v, %v, want true, nil", created, err)
		}
		if got := git(empty, "rev-parse", "--abbrev-ref", "HEAD"); got != "trunk" {
			t.Errorf("branch = %q, want trunk", got)
		}
	})

	t.Run("a non-empty directory that is not a repository is EINVALID and untouched", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "mine.txt"), []byte("mine"), 0o644)
		_, err := Seed(dir, seed, "main")
		wantCode(t, err, registry.EINVALID)
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Errorf("dir has %d entries, want 1", len(entries))
		}
		siblings, _ := os.ReadDir(filepath.Dir(dir))
		for _, e := range siblings {
			if strings.Contains(e.Name(), ".seed-") {
				t.Errorf("left %s", e.Name())
			}
		}
	})

	t.Run("a missing seed directory is EINVALID", func(t *testing.T) {
		_, err := Seed(filepath.Join(t.TempDir(), "r"), filepath.Join(seed, "missing"), "main")
		wantCode(t, err, registry.EINVALID)
	})
}
