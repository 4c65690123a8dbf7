package jinja

import (
	"context"
	"errors"
	"testing"
	"time"
)

// FuzzRender parses and renders arbitrary templates: errors are fine,
// panics and engine failures are not. The seeds are the templates of both
// corpora.
func FuzzRender(f *testing.F) {
	for _, c := range loadCorpus(f) {
		f.Add(c.Template)
	}
	for _, c := range loadCorpusFile(f, "testdata/extra_corpus.jsonl") {
		f.Add(c.Template)
	}
	for _, s := range []string{"{{ not not not x }}", "{{ [a if b else c if d] }}", "{{ 1 < 2 < 3 < 4 }}", "{% for x in y if a < b < c %}{% endfor %}"} {
		f.Add(s)
	}
	vars := map[string]any{"x": 1, "xs": []any{1, "a", nil}, "d": map[string]any{"k": "v"}, "s": "héllo"}
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := Parse("fuzz", src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse error %T, want *SyntaxError", err)
			}
			return
		}
		tpl.Variables()
		_, err = tpl.Render(context.Background(), vars, Options{Timeout: 100 * time.Millisecond, MaxOutput: 1 << 16})
		var re *RenderError
		if errors.As(err, &re) && re.Kind == "InternalError" {
			t.Fatalf("engine failure on %q: %v", src, err)
		}
	})
}
