package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/promptreg/promptreg/internal/genrepo"
	"github.com/promptreg/promptreg/internal/gittest"
)

// putEdits makes every benchmarked change new, across the benchmark's runs.
var putEdits atomic.Int64

// BenchmarkPut measures the whole write path of PUT /v1/prompts/{name}:
// request → commit built → pushed to a bare remote → published → answered,
// the new version served. "git" is the baseline measured in the same run:
// the same change with the git command line (commit -a, push) from a
// working clone of the same remote. Run on a generated repository of 10
// prompts and on the P=2,000 × C=10,000 one: the cost should not grow with
// the repository. `make bench-writes` runs it.
func BenchmarkPut(b *testing.B) {
	for _, size := range []struct{ prompts, commits int }{{10, 50}, {2000, 10000}} {
		b.Run(fmt.Sprintf("P=%d,C=%d", size.prompts, size.commits), func(b *testing.B) {
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
				e := newWriteEnvAt(b, bare)
				st, err := e.reg.Served()
				if err != nil {
					b.Fatal(err)
				}
				name := ""
				for _, n := range st.Head.Names() {
					if en, _ := st.Head.Get(n); en.Prompt.File == sum.BusiestPath {
						name = n
					}
				}
				if name == "" {
					b.Fatalf("no prompt at %s", sum.BusiestPath)
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					r := e.write(http.MethodPut, "/v1/prompts/"+name, map[string]string{"template_source": fmt.Sprintf("promptreg %d {{ x }}", putEdits.Add(1))})
					if r.status != http.StatusOK {
						b.Fatalf("PUT: %d %s", r.status, r.body)
					}
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
					if err := os.WriteFile(file, []byte(fmt.Sprintf("git %d {{ x }}", putEdits.Add(1))), 0o644); err != nil {
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
