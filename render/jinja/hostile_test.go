package jinja

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"
)

// dirLoader serves testdata/hostile/partials by name. Names are never
// paths: anything but [a-z0-9_] is unknown.
type dirLoader string

var partialName = regexp.MustCompile(`^[a-z0-9_]+$`)

func (d dirLoader) Load(name string) (*Template, error) {
	if !partialName.MatchString(name) {
		return nil, fmt.Errorf("no prompt named %q", name)
	}
	src, err := os.ReadFile(filepath.Join(string(d), name+".jinja"))
	if err != nil {
		return nil, fmt.Errorf("no prompt named %q", name)
	}
	return Parse(name, string(src))
}

var wantHeader = regexp.MustCompile(`^\{# want: (\w+) ?(.*?) #\}`)

// TestHostile renders every template of testdata/hostile and checks the
// error it gets, given in its first line as {# want: Kind detail #}:
// SyntaxError [message part], LimitError limit, RenderError kind,
// UndefinedError, or ok followed by the expected output.
func TestHostile(t *testing.T) {
	files, err := filepath.Glob("testdata/hostile/*.jinja")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Fatalf("found %d hostile templates, want at least 40", len(files))
	}
	before := runtime.NumGoroutine()
	const timeout = time.Second
	opts := Options{Timeout: timeout, Loader: dirLoader("testdata/hostile/partials")}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".jinja")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			m := wantHeader.FindStringSubmatch(string(src))
			if m == nil {
				t.Fatalf("%s: missing {# want: … #} header", file)
			}
			kind, detail := m[1], m[2]
			start := time.Now()
			out, err := renderHostile(name, string(src), opts)
			if elapsed := time.Since(start); elapsed > timeout+2*time.Second {
				t.Errorf("took %v, want at most about %v", elapsed, timeout)
			}
			var (
				se *SyntaxError
				le *LimitError
				re *RenderError
				ue *UndefinedError
			)
			switch kind {
			case "SyntaxError":
				if !errors.As(err, &se) || !strings.Contains(se.Msg, detail) {
					t.Errorf("err = %v, want SyntaxError containing %q", err, detail)
				}
			case "LimitError":
				if !errors.As(err, &le) || le.Limit != detail {
					t.Errorf("err = %v, want LimitError %s", err, detail)
				}
			case "RenderError":
				if !errors.As(err, &re) || re.Kind != detail {
					t.Errorf("err = %v, want RenderError %s", err, detail)
				}
			case "UndefinedError":
				if !errors.As(err, &ue) {
					t.Errorf("err = %v, want UndefinedError", err)
				}
			case "ok":
				if err != nil || out != detail {
					t.Errorf("got %q, %v; want %q", out, err, detail)
				}
			default:
				t.Fatalf("unknown expectation %q", kind)
			}
			if errors.As(err, &re) && re.Kind == "InternalError" {
				t.Errorf("engine failure: %v", err)
			}
		})
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := runtime.NumGoroutine(); got > before {
		t.Errorf("goroutines: %d after the hostile renders, %d before", got, before)
	}
}

func renderHostile(name, src string, opts Options) (string, error) {
	tpl, err := Parse(name, src)
	if err != nil {
		return "", err
	}
	return tpl.Render(context.Background(), nil, opts)
}

// TestHostileVariables feeds hostile data to an innocent template.
func TestHostileVariables(t *testing.T) {
	deep := any("bottom")
	for range 5000 {
		deep = []any{deep}
	}
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	tests := []struct {
		name  string
		vars  map[string]any
		limit string
	}{
		{"deeply nested", map[string]any{"x": deep}, "recursion"},
		{"cyclic map", map[string]any{"x": cyclic}, "recursion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render(t, "{{ x }}", tt.vars, Options{})
			var le *LimitError
			if !errors.As(err, &le) || le.Limit != tt.limit {
				t.Errorf("err = %v, want LimitError %s", err, tt.limit)
			}
		})
	}
	t.Run("huge string is printed within the limit", func(t *testing.T) {
		big := strings.Repeat("é", DefaultMaxOutput)
		_, err := render(t, "{{ s }}", map[string]any{"s": big}, Options{})
		var le *LimitError
		if !errors.As(err, &le) || le.Limit != "output" {
			t.Errorf("err = %v, want LimitError output", err)
		}
	})
}
