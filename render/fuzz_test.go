package render

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/render/jinja"
)

// examplePrompts adds the bundled example prompts to a fuzz target's seeds.
func examplePrompts(f *testing.F) [][]byte {
	f.Helper()
	var out [][]byte
	err := filepath.WalkDir("../examples/prompts", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".md") || strings.HasSuffix(p, ".yaml") {
			return err
		}
		b, err := os.ReadFile(p)
		out = append(out, b)
		return err
	})
	if err != nil {
		f.Fatal(err)
	}
	return out
}

// FuzzParsePrompt parses arbitrary prompt files. A file either parses into
// a prompt whose name validates, whose references validate, whose lists
// are sorted and whose JSON encoding (what the API serves) succeeds; or it
// is a *registry.Problem. Parsing is deterministic, and the parser's schema
// cache never changes what it returns. Seeds: the example prompts and
// testdata/fuzz/FuzzParsePrompt.
func FuzzParsePrompt(f *testing.F) {
	for _, b := range examplePrompts(f) {
		f.Add(b)
	}
	cached := NewParser()
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parser{}.ParsePrompt("dir/fuzz.prompt", "dir/fuzz", data)
		again, errAgain := Parser{}.ParsePrompt("dir/fuzz.prompt", "dir/fuzz", data)
		if !reflect.DeepEqual(p, again) || !reflect.DeepEqual(err, errAgain) {
			t.Fatalf("two parses differ: %+v, %v then %+v, %v", p, err, again, errAgain)
		}
		for range 2 { // a cache miss, then a hit
			c, cerr := cached.ParsePrompt("dir/fuzz.prompt", "dir/fuzz", data)
			if !reflect.DeepEqual(p, c) || !reflect.DeepEqual(err, cerr) {
				t.Fatalf("the cached parser returns %+v, %v; the plain one %+v, %v", c, cerr, p, err)
			}
		}
		if err != nil {
			var prob *registry.Problem
			if !errors.As(err, &prob) || prob.Path != "dir/fuzz.prompt" || p != nil {
				t.Fatalf("ParsePrompt = %v, %v (%T), want a *registry.Problem", p, err, err)
			}
			return
		}
		if err := registry.ValidateName(p.Name); err != nil {
			t.Fatalf("parsed prompt's name: %v", err)
		}
		for _, r := range p.References {
			if err := registry.ValidateName(r); err != nil {
				t.Fatalf("parsed prompt's reference: %v", err)
			}
		}
		for _, l := range [][]string{p.Variables, p.References} {
			if l == nil || !slices.IsSorted(l) || len(slices.Compact(slices.Clone(l))) != len(l) {
				t.Fatalf("variables %q or references %q are not a sorted set", p.Variables, p.References)
			}
		}
		if p.Tags == nil || p.BodyLine < 1 {
			t.Fatalf("tags %v, body line %d", p.Tags, p.BodyLine)
		}
		if !strings.HasSuffix(string(data), p.Template) {
			t.Fatalf("template %q is not the end of the file", p.Template)
		}
		switch p.Format {
		case registry.FormatText:
			if p.Messages != nil {
				t.Fatalf("a text prompt with messages %v", p.Messages)
			}
		case registry.FormatChat:
			if len(p.Messages) == 0 {
				t.Fatal("a chat prompt without messages")
			}
		default:
			t.Fatalf("format %q", p.Format)
		}
		for _, s := range []json.RawMessage{p.InputSchema, p.OutputSchema} {
			if s != nil && !json.Valid(s) {
				t.Fatalf("schema %q is not JSON", s)
			}
		}
		p.Checksum = registry.Checksum(data)
		if _, err := registry.NewEntry(p, false); err != nil {
			t.Fatalf("the parsed prompt does not encode: %v", err)
		}
	})
}

// FuzzSplitFrontMatter checks that the front matter and the body are the
// file's own text, in place: the header sits between the opening and the
// closing line, the body is the file's end, and bodyLine is its line.
// Seeds: the example prompts and testdata/fuzz/FuzzSplitFrontMatter.
func FuzzSplitFrontMatter(f *testing.F) {
	for _, b := range examplePrompts(f) {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, src string) {
		header, body, bodyLine, ok := SplitFrontMatter(src)
		first, rest, _ := strings.Cut(src, "\n")
		opens := strings.TrimRight(first, " \t\r") == "---"
		switch {
		case !ok:
			if !opens || header != "" || body != "" {
				t.Fatalf("not ok, with header %q and body %q", header, body)
			}
		case !opens:
			if header != "" || body != src || bodyLine != 1 {
				t.Fatalf("no front matter, but header %q, body %q at line %d", header, body, bodyLine)
			}
		default:
			if !strings.HasPrefix(rest, header) || !strings.HasSuffix(src, body) {
				t.Fatalf("header %q or body %q is not in place in %q", header, body, src)
			}
			closing, _, _ := strings.Cut(rest[len(header):], "\n")
			if c := strings.TrimRight(closing, " \t\r"); c != "---" && c != "..." {
				t.Fatalf("header %q is not followed by a closing line, but %q", header, closing)
			}
			if header != "" && !strings.HasSuffix(header, "\n") {
				t.Fatalf("header %q does not end a line", header)
			}
			if body != "" {
				if n := strings.Count(src[:len(src)-len(body)], "\n") + 1; n != bodyLine {
					t.Fatalf("body starts at line %d, not %d", n, bodyLine)
				}
			}
		}
	})
}

// FuzzDecodeVariables decodes arbitrary request variables. What decodes is
// a JSON object in UTF-8, holding what encoding/json finds in it; what does
// not is an EINVALID error, or ETOOLARGE for more than jinja.MaxVariables
// members. A JSON object encoding/json decodes (its numbers within
// float64's range) is refused only for those, invalid UTF-8 or nesting
// deeper than jinja's data depth. Seeds: testdata/fuzz/FuzzDecodeVariables.
func FuzzDecodeVariables(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		vars, err := decodeVariables(data)
		again, errAgain := decodeVariables(data)
		if !reflect.DeepEqual(vars, again) || !reflect.DeepEqual(err, errAgain) {
			t.Fatalf("two decodes differ")
		}
		trimmed := bytes.TrimSpace(data)
		if len(trimmed) == 0 || string(trimmed) == "null" {
			if err != nil || len(vars) != 0 {
				t.Fatalf("no variables decode to %v, %v; want none", vars, err)
			}
			return
		}
		var std map[string]any
		stdErr := json.Unmarshal(data, &std)
		if err != nil {
			code := registry.ErrorCode(err)
			if code == registry.ETOOLARGE && bytes.Count(data, []byte(":")) > jinja.MaxVariables {
				return // more members than variables allowed
			}
			if code != registry.EINVALID {
				t.Fatalf("error code %q, want %q: %v", code, registry.EINVALID, err)
			}
			if stdErr == nil && std != nil && !overLimits(std, -1) && utf8.Valid(data) {
				t.Fatalf("encoding/json decodes %q, decodeVariables does not: %v", data, err)
			}
			return
		}
		if !utf8.Valid(data) {
			t.Fatalf("decodeVariables decodes %q, which is not UTF-8", data)
		}
		if stdErr != nil || std == nil {
			t.Fatalf("decodeVariables decodes %q, which encoding/json refuses (%v)", data, stdErr)
		}
		plain := make(map[string]any, len(vars))
		for k, v := range vars {
			plain[k] = jinja.Plain(v)
		}
		if got := normalize(plain); !reflect.DeepEqual(got, normalize(std)) {
			t.Fatalf("decodeVariables gives %#v, encoding/json %#v", got, normalize(std))
		}
	})
}

// overLimits reports whether a value encoding/json decoded is nested
// deeper than jinja's limit of 1,000 (the top-level object's members are at
// depth 0).
func overLimits(v any, depth int) bool {
	if depth > 1000 {
		return true
	}
	switch v := v.(type) {
	case map[string]any:
		for _, e := range v {
			if overLimits(e, depth+1) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if overLimits(e, depth+1) {
				return true
			}
		}
	}
	return false
}

// normalize makes every number a float64, so values decoded as integers,
// big integers and floats compare.
func normalize(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = normalize(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = normalize(e)
		}
		return out
	case int64:
		return float64(v)
	case json.Number:
		x, err := strconv.ParseFloat(string(v), 64)
		if err != nil {
			return math.NaN()
		}
		return x
	}
	return v
}
