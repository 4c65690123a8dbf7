package gitstore

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/promptreg/promptreg/internal/gittest"
	"github.com/promptreg/promptreg/registry"
)

// openStore opens a Store on url with a fresh data directory.
func openStore(t testing.TB, url string) *Store {
	t.Helper()
	return openDir(t, url, t.TempDir())
}

// openDir opens a Store on url with data directory dir and closes it when
// the test ends.
func openDir(t testing.TB, url, dir string) *Store {
	t.Helper()
	return openWith(t, Options{URL: url, Dir: dir})
}

// openWith opens a Store with opts and closes it when the test ends.
func openWith(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", opts.URL, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// fetched opens a Store on url with a fresh data directory and fetches.
func fetched(t *testing.T, url string) *Store {
	t.Helper()
	s := openStore(t, url)
	fetch(t, s)
	return s
}

// cloneInto leaves in dir a clone of url that has fetched once, its Store
// closed.
func cloneInto(t *testing.T, url, dir string) {
	t.Helper()
	s := openDir(t, url, dir)
	fetch(t, s)
	s.Close()
}

func fetch(t *testing.T, s *Store) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Fetch(ctx); err != nil {
		t.Fatalf("Fetch: %v", err)
	}
}

func refs(t *testing.T, s *Store) map[string]string {
	t.Helper()
	got, err := s.Refs(context.Background())
	if err != nil {
		t.Fatalf("Refs: %v", err)
	}
	return got
}

func wantCode(t *testing.T, err error, want string) {
	t.Helper()
	if got := registry.ErrorCode(err); got != want {
		t.Fatalf("error code = %q (%v), want %q", got, err, want)
	}
}

// twoCommits returns a repository whose main has two commits: c1 writes
// a.prompt "v1", c2 changes it to "v2".
func twoCommits(t *testing.T) (r *gittest.Repo, c1, c2 string) {
	t.Helper()
	r = gittest.New(t)
	r.Write("a.prompt", "v1")
	c1 = r.Commit("c1")
	r.Write("a.prompt", "v2")
	c2 = r.Commit("c2")
	return r, c1, c2
}

// writeFile writes content to the file name below dir, creating its
// directory.
func writeFile(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// spinReaders runs read in a loop in each of n goroutines until stop is
// called (or the test ends). stop waits for them and returns the errors
// they met, at most one each (a reader stops at its first), and how many
// reads each made.
func spinReaders(t *testing.T, n int, read func() error) (stop func() (errs []error, reads []int)) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	errc := make(chan error, n)
	counts := make([]int, n)
	for i := range counts {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if err := read(); err != nil {
					errc <- err
					return
				}
				counts[i]++
			}
		})
	}
	var once sync.Once
	halt := func() { once.Do(func() { close(done); wg.Wait(); close(errc) }) }
	t.Cleanup(halt)
	return func() ([]error, []int) {
		halt()
		var errs []error
		for err := range errc {
			errs = append(errs, err)
		}
		return errs, counts
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// fastImport adds commits commits to branch main of r in one git
// fast-import run: commit i rewrites counter.txt and, when blobBytes > 0,
// adds a file of blobBytes random (incompressible) bytes. Content and dates
// are fixed, so the shas are the same on every run.
func fastImport(t testing.TB, r *gittest.Repo, commits, blobBytes int) {
	t.Helper()
	rng := rand.New(rand.NewSource(1))
	var b strings.Builder
	data := func(s string) { fmt.Fprintf(&b, "data %d\n%s\n", len(s), s) }
	tip, _ := gittest.Run(r.Path(), gittest.Epoch, "", "rev-parse", "--verify", "-q", "refs/heads/main")
	for i := range commits {
		fmt.Fprintf(&b, "commit refs/heads/main\ncommitter %s <%s> %d +0000\n",
			gittest.AuthorName, gittest.AuthorEmail, gittest.Epoch.Unix()+int64(i)*60)
		data(fmt.Sprintf("commit %d", i))
		if i == 0 && tip != "" {
			fmt.Fprintf(&b, "from %s\n", tip)
		}
		b.WriteString("M 100644 inline counter.txt\n")
		data(fmt.Sprintf("%d\n", i))
		if blobBytes > 0 {
			blob := make([]byte, blobBytes)
			rng.Read(blob)
			fmt.Fprintf(&b, "M 100644 inline big/%04d.bin\n", i)
			data(string(blob))
		}
	}
	r.GitInput(b.String(), "fast-import", "--quiet")
	r.Git("reset", "-q", "--hard", "main")
}
