package jinja

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// The benchmark shapes: a short prompt with two variables, a loop over 20
// documents with filters, a ~4 KB system prompt with conditionals. Compare
// with testdata/bench_jinja2.py (Python Jinja2 on the same files):
//
//	taskset -c 0 go test -run '^$' -bench BenchmarkRender ./render/jinja/
//	taskset -c 0 python3 render/jinja/testdata/bench_jinja2.py
var benchShapes = []string{"short", "loop", "system"}

func loadBench(tb testing.TB, shape string) (*Template, map[string]any) {
	tb.Helper()
	src, err := os.ReadFile(filepath.Join("testdata/bench", shape+".jinja"))
	if err != nil {
		tb.Fatal(err)
	}
	tpl, err := Parse(shape, string(src))
	if err != nil {
		tb.Fatal(err)
	}
	data, err := os.ReadFile("testdata/bench/data.json")
	if err != nil {
		tb.Fatal(err)
	}
	vars, err := DecodeJSON(data)
	if err != nil {
		tb.Fatal(err)
	}
	return tpl, vars
}

// TestBenchOutputsMatchJinja2 checks that the benchmarked renders produce
// Jinja2's bytes (testdata/bench/*.expected, written by bench_jinja2.py).
func TestBenchOutputsMatchJinja2(t *testing.T) {
	for _, shape := range benchShapes {
		t.Run(shape, func(t *testing.T) {
			tpl, vars := loadBench(t, shape)
			want, err := os.ReadFile(filepath.Join("testdata/bench", shape+".expected"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := tpl.Render(context.Background(), vars, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("output differs from Jinja2's:\ngot:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

// BenchmarkRender renders each shape with the default limits on (1 s
// timeout, 1 MiB output, range cap), the template parsed once.
func BenchmarkRender(b *testing.B) {
	for _, shape := range benchShapes {
		b.Run(shape, func(b *testing.B) {
			tpl, vars := loadBench(b, shape)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := tpl.Render(ctx, vars, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParse measures compiling the shapes, which callers cache.
func BenchmarkParse(b *testing.B) {
	for _, shape := range benchShapes {
		b.Run(shape, func(b *testing.B) {
			src, err := os.ReadFile(filepath.Join("testdata/bench", shape+".jinja"))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(shape, string(src)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
