package gitstore

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/promptreg/promptreg/internal/gittest"
)

// bigRepo is a repository whose initial fetch takes long enough (a few
// hundred milliseconds under -race) to be interrupted in the middle: 24
// commits of 128 KiB of random bytes each.
const bigCommits = 24

func bigRepo(t *testing.T) *gittest.Repo {
	r := gittest.New(t)
	fastImport(t, r, bigCommits, 128<<10)
	return r
}

// waitTempPack waits until a fetch into the clone at path has started
// writing a pack, and fails the test if that takes over 2 minutes.
func waitTempPack(t *testing.T, path string) {
	t.Helper()
	// Generous: under a loaded CI machine starting the helper process and
	// the upload-pack can take a while; the test only waits for an event.
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		tmps, _ := filepath.Glob(filepath.Join(path, "objects", "pack", "tmp_pack_*"))
		for _, p := range tmps {
			if fi, err := os.Stat(p); err == nil && fi.Size() > 0 {
				return
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
	t.Fatal("no fetch started writing a pack within 2 minutes")
}

func TestInterruptedInitialFetch(t *testing.T) {
	t.Parallel()
	r := bigRepo(t)
	head := r.Git("rev-parse", "main")
	dir := t.TempDir()
	s := openDir(t, r.URL(), dir)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Fetch(ctx) }()
	waitTempPack(t, s.Path())
	cancel()
	err := <-done

	t.Run("the cancelled fetch fails and leaves no ref", func(t *testing.T) {
		if err == nil {
			t.Fatal("Fetch = nil, want an error: it finished before it could be interrupted")
		}
		if got := refs(t, s); len(got) != 0 {
			t.Errorf("refs = %v, want none", got)
		}
	})

	t.Run("no temporary pack is left", func(t *testing.T) {
		if tmps, _ := filepath.Glob(filepath.Join(s.Path(), "objects", "pack", "tmp_*")); len(tmps) != 0 {
			t.Errorf("left %v", tmps)
		}
	})

	t.Run("the next fetch clones", func(t *testing.T) {
		fetch(t, s)
		if got := refs(t, s)["refs/heads/main"]; got != head {
			t.Errorf("main = %s, want %s", got, head)
		}
		if files, err := s.ListFiles(context.Background(), head, "big"); err != nil || len(files) != bigCommits {
			t.Errorf("ListFiles(big) = %d files, %v, want %d", len(files), err, bigCommits)
		}
	})
}

// TestKilledDuringFetch kills, with SIGKILL, a process that is fetching
// into a clone, then reopens the clone and fetches again.
func TestKilledDuringFetch(t *testing.T) {
	if os.Getenv("GITSTORE_FETCH_HELPER") != "" {
		return // we are the helper: see TestFetchHelperProcess
	}
	t.Parallel()
	r := bigRepo(t)
	r.Write("small.prompt", "small")
	head := r.Commit("small")
	dir := t.TempDir()

	// A first, complete fetch, then new commits: the killed fetch is an
	// incremental one into a clone that has refs.
	cloneInto(t, r.URL(), dir)
	fastImport(t, r, bigCommits, 128<<10)
	newHead := r.Git("rev-parse", "main")

	cmd := exec.Command(os.Args[0], "-test.run=^TestFetchHelperProcess$")
	cmd.Env = append(os.Environ(), "GITSTORE_FETCH_HELPER="+r.URL()+"\n"+dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitTempPack(t, filepath.Join(dir, cloneName))
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if strings.Contains(out.String(), "FETCHED") {
		t.Fatalf("the helper finished its fetch before it was killed:\n%s", out.String())
	}
	if tmps, _ := filepath.Glob(filepath.Join(dir, cloneName, "objects", "pack", "tmp_pack_*")); len(tmps) == 0 {
		t.Fatal("the killed fetch left no temporary pack: it was not killed mid-transfer")
	}

	t.Run("the clone reopens and serves its old refs", func(t *testing.T) {
		s := openDir(t, r.URL(), dir)
		if got := refs(t, s)["refs/heads/main"]; got != head {
			t.Errorf("main = %s, want %s (before the killed fetch)", got, head)
		}
		if tmps, _ := filepath.Glob(filepath.Join(s.Path(), "objects", "pack", "tmp_*")); len(tmps) != 0 {
			t.Errorf("Open left %v", tmps)
		}
		fetch(t, s)
		if got := refs(t, s)["refs/heads/main"]; got != newHead {
			t.Errorf("main after fetch = %s, want %s", got, newHead)
		}
	})
}

// TestFetchHelperProcess is the process TestKilledDuringFetch kills.
func TestFetchHelperProcess(t *testing.T) {
	env := os.Getenv("GITSTORE_FETCH_HELPER")
	if env == "" {
		t.Skip("run by TestKilledDuringFetch")
	}
	url, dir, _ := strings.Cut(env, "\n")
	s, err := Open(Options{URL: url, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Fetch(context.Background()); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("FETCHED\n")
}

func TestOpenRepairsLeftovers(t *testing.T) {
	t.Parallel()
	r := gittest.New(t)
	r.Write("a.prompt", "a")
	c1 := r.Commit("c1")
	r.Tag("v1", c1)
	r.ForceBranch("dev", c1)
	dir := t.TempDir()
	cloneInto(t, r.URL(), dir)
	path := filepath.Join(dir, cloneName)

	// What a kill or a machine crash can leave: a ref file emptied by an
	// in-place rewrite, a ref to an object that never reached the disk,
	// temporary files, a pack index without its pack, a half-initialized
	// clone directory.
	writeFile(t, path, "refs/heads/dev", "")
	writeFile(t, path, "refs/tags/v1", strings.Repeat("ab", 20)+"\n")
	writeFile(t, path, "refs/heads/garbled", "not a sha\n")
	writeFile(t, path, "objects/pack/tmp_pack_123", "partial")
	writeFile(t, path, "objects/pack/pack-"+strings.Repeat("cd", 20)+".idx", "orphan")
	writeFile(t, path, "._packed-refs123", "partial")
	os.MkdirAll(filepath.Join(dir, cloneName+initSuffix+"42"), 0o755)

	s := openDir(t, r.URL(), dir)

	t.Run("refs are readable, broken ones gone", func(t *testing.T) {
		want := map[string]string{"refs/heads/main": c1}
		if got := refs(t, s); !equalMaps(got, want) {
			t.Errorf("refs = %v, want %v", got, want)
		}
	})

	t.Run("leftover files are removed", func(t *testing.T) {
		for _, p := range []string{
			filepath.Join(path, "objects/pack/tmp_pack_123"),
			filepath.Join(path, "objects/pack/pack-"+strings.Repeat("cd", 20)+".idx"),
			filepath.Join(path, "._packed-refs123"),
			filepath.Join(dir, cloneName+initSuffix+"42"),
		} {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("%s still exists", p)
			}
		}
	})

	t.Run("the next fetch restores the removed refs", func(t *testing.T) {
		fetch(t, s)
		want := map[string]string{"refs/heads/main": c1, "refs/heads/dev": c1, "refs/tags/v1": c1}
		if got := refs(t, s); !equalMaps(got, want) {
			t.Errorf("refs = %v, want %v", got, want)
		}
	})
}

func TestOpenRecreatesUnusableClone(t *testing.T) {
	t.Parallel()
	r := gittest.New(t)
	c1 := r.Commit("c1")
	dir := t.TempDir()
	cloneInto(t, r.URL(), dir)
	idx, _ := filepath.Glob(filepath.Join(dir, cloneName, "objects", "pack", "*.idx"))
	if len(idx) == 0 {
		t.Fatal("no pack index")
	}
	if err := os.WriteFile(idx[0], []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}

	s := openDir(t, r.URL(), dir)

	t.Run("the broken clone is moved aside", func(t *testing.T) {
		if _, err := os.Stat(filepath.Join(dir, cloneName+".broken")); err != nil {
			t.Error(err)
		}
	})

	t.Run("the next fetch clones again", func(t *testing.T) {
		fetch(t, s)
		if got := refs(t, s)["refs/heads/main"]; got != c1 {
			t.Errorf("main = %s, want %s", got, c1)
		}
	})
}
