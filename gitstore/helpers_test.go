package gitstore

import (
	"context"
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"

	"github.com/promptreg/promptreg/internal/gittest"
	"github.com/promptreg/promptreg/registry"
)

// openStore opens a Store on url with a fresh data directory.
func openStore(t *testing.T, url string) *Store {
	t.Helper()
	return openDir(t, url, t.TempDir())
}

// openDir opens a Store on url with data directory dir and closes it when
// the test ends.
func openDir(t *testing.T, url, dir string) *Store {
	t.Helper()
	s, err := Open(Options{URL: url, Dir: dir})
	if err != nil {
		t.Fatalf("Open(%s): %v", url, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
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
