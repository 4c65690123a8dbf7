package gitstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/promptreg/promptreg/internal/genrepo"
	"github.com/promptreg/promptreg/internal/gittest"
	"github.com/promptreg/promptreg/registry"
)

// edits makes every benchmarked change new, across the benchmark's runs.
var edits atomic.Int64

// BenchmarkCommitAndPush commits one changed prompt and pushes it to a bare
// remote, in a generated repository of 10 prompts and of 2,000: the cost
// should not grow with the repository (the commit is built along the
// changed path, and only its objects are sent). "git" is the baseline: the
// same change with the git command line (commit -a, push) from a working
// clone of the same remote.
func BenchmarkCommitAndPush(b *testing.B) {
	for _, size := range []struct{ prompts, commits int }{{10, 50}, {2000, 2000}} {
		b.Run(fmt.Sprintf("P=%d", size.prompts), func(b *testing.B) {
			dir := filepath.Join(b.TempDir(), "work")
			sum, err := genrepo.Generate(context.Background(), genrepo.Options{Dir: dir, Prompts: size.prompts, Commits: size.commits, Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			bare := filepath.Join(b.TempDir(), "remote.git")
			if _, err := gittest.Run(dir, gittest.Epoch, "", "clone", "-q", "--bare", dir, bare); err != nil {
				b.Fatal(err)
			}
			b.Run("promptreg", func(b *testing.B) {
				s := openStore(b, bare)
				if err := s.Fetch(context.Background()); err != nil {
					b.Fatal(err)
				}
				head, err := gittest.Run(bare, gittest.Epoch, "", "rev-parse", "main")
				if err != nil {
					b.Fatal(err)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					c, err := s.CommitAndPush(context.Background(), registry.CommitRequest{Parent: head, Message: "bench",
						Changes: []registry.FileChange{{Path: sum.BusiestPath, Content: []byte(fmt.Sprintf("promptreg %d {{ x }}", edits.Add(1)))}}})
					if err != nil {
						b.Fatal(err)
					}
					head = c.SHA
				}
			})
			b.Run("git", func(b *testing.B) {
				work := filepath.Join(b.TempDir(), "clone")
				if _, err := gittest.Run(dir, gittest.Epoch, "", "clone", "-q", bare, work); err != nil {
					b.Fatal(err)
				}
				file := filepath.Join(work, filepath.FromSlash(sum.BusiestPath))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := os.WriteFile(file, []byte(fmt.Sprintf("git %d {{ x }}", edits.Add(1))), 0o644); err != nil {
						b.Fatal(err)
					}
					for _, args := range [][]string{{"commit", "-qam", "bench"}, {"push", "-q", "origin", "main"}} {
						if out, err := gittest.Run(work, gittest.Epoch, "", args...); err != nil {
							b.Fatalf("git %v: %v %s", args, err, out)
						}
					}
				}
			})
		})
	}
}
