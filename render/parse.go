package render

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	lru "github.com/hashicorp/golang-lru/v2"
	"gopkg.in/yaml.v3"

	"github.com/promptreg/promptreg/internal/yamlerr"
	"github.com/promptreg/promptreg/registry"
	"github.com/promptreg/promptreg/render/jinja"
)

// Parser parses prompt files. It is safe for concurrent use; its only state
// is an optional cache of schema checks, which never changes what a parse
// returns.
//
// The zero value is ready to use (without the cache); NewParser adds it,
// which matters when many versions share an input schema (indexing history
// parses every version of every prompt).
type Parser struct {
	schemas *lru.Cache[string, string] // sha256 of the schema JSON → "" if it compiles, else the error
}

var _ registry.Parser = Parser{}

// NewParser returns a Parser that remembers which schemas compile.
func NewParser() Parser {
	c, _ := lru.New[string, string](1024)
	return Parser{schemas: c}
}

// frontMatter is the YAML header of a prompt file. Keys it does not name are
// kept in Extra.
type frontMatter struct {
	Name         string         `yaml:"name"`
	Description  string         `yaml:"description"`
	Tags         []string       `yaml:"tags"`
	Metadata     map[string]any `yaml:"metadata"`
	Model        any            `yaml:"model"`
	Params       map[string]any `yaml:"params"`
	InputSchema  any            `yaml:"input_schema"`
	OutputSchema any            `yaml:"output_schema"`
	Undefined    string         `yaml:"undefined"`
	Extra        map[string]any `yaml:",inline"`
}

// Undefined modes.
const (
	UndefinedStrict  = "strict"
	UndefinedLenient = "lenient"
)

// ParsePrompt parses the prompt file at path, named name unless its front
// matter says otherwise.
func (pr Parser) ParsePrompt(path, name string, data []byte) (*registry.Prompt, error) {
	prob := func(line, col int, format string, args ...any) error {
		return &registry.Problem{Path: path, Name: name, Line: line, Col: col, Message: fmt.Sprintf(format, args...)}
	}
	if !utf8.Valid(data) {
		return nil, prob(0, 0, "file is not valid UTF-8")
	}
	src := strings.TrimPrefix(string(data), "\ufeff")
	header, body, bodyLine, ok := SplitFrontMatter(src)
	if !ok {
		return nil, prob(1, 1, "front matter starts with --- but has no closing --- line")
	}

	var fm frontMatter
	if header != "" {
		if err := yaml.Unmarshal([]byte(header), &fm); err != nil {
			line, msg := yamlerr.Split(err)
			if line > 0 {
				line++ // the opening --- line
			}
			return nil, prob(line, 0, "front matter: %s", msg)
		}
	}
	p := &registry.Prompt{
		Name:        name,
		Description: fm.Description,
		Tags:        fm.Tags,
		Undefined:   fm.Undefined,
		BodyLine:    bodyLine,
		Template:    body,
	}
	if fm.Name != "" {
		p.Name = fm.Name
	}
	if err := registry.ValidateName(p.Name); err != nil {
		return nil, prob(0, 0, "%s", registry.ErrorMessage(err))
	}
	if p.Tags == nil {
		p.Tags = []string{}
	}
	switch fm.Undefined {
	case "", UndefinedStrict, UndefinedLenient:
	default:
		return nil, prob(0, 0, "undefined: %q is neither %q nor %q", fm.Undefined, UndefinedStrict, UndefinedLenient)
	}
	var err error
	if p.Metadata, err = jsonMap(fm.Metadata); err != nil {
		return nil, prob(0, 0, "metadata: %v", err)
	}
	if p.Params, err = jsonMap(fm.Params); err != nil {
		return nil, prob(0, 0, "params: %v", err)
	}
	if p.Extra, err = jsonMap(fm.Extra); err != nil {
		return nil, prob(0, 0, "%v", err)
	}
	if p.Model, err = parseModel(fm.Model); err != nil {
		return nil, prob(0, 0, "model: %v", err)
	}
	if p.InputSchema, err = pr.parseSchema(fm.InputSchema); err != nil {
		return nil, prob(0, 0, "input_schema: %v", err)
	}
	if p.OutputSchema, err = pr.parseSchema(fm.OutputSchema); err != nil {
		return nil, prob(0, 0, "output_schema: %v", err)
	}

	sections, err := splitRoles(body)
	if err != nil {
		var se *sectionError
		if errors.As(err, &se) {
			return nil, prob(bodyLine+se.line-1, 1, "%s", se.msg)
		}
		return nil, prob(bodyLine, 0, "%v", err)
	}
	vars, refs := map[string]bool{}, map[string]bool{}
	parse := func(src string, line int) error {
		t, err := jinja.Parse(p.Name, src)
		if err != nil {
			var se *jinja.SyntaxError
			if errors.As(err, &se) {
				return prob(line+max(se.Line, 1)-1, se.Col, "%s", se.Msg)
			}
			return prob(line, 0, "%v", err)
		}
		for _, v := range t.Variables() {
			vars[v] = true
		}
		for _, r := range t.References() {
			if err := registry.ValidateName(r); err != nil {
				return prob(line, 0, "include: %s", registry.ErrorMessage(err))
			}
			refs[r] = true
		}
		return nil
	}
	if sections == nil {
		p.Format = registry.FormatText
		if err := parse(body, bodyLine); err != nil {
			return nil, err
		}
	} else {
		p.Format = registry.FormatChat
		for _, s := range sections {
			p.Messages = append(p.Messages, registry.Message{Role: s.role, Content: s.content})
			if err := parse(s.content, bodyLine+s.line-1); err != nil {
				return nil, err
			}
		}
	}
	p.Variables = sortedKeys(vars)
	p.References = sortedKeys(refs)
	if p.References == nil {
		p.References = []string{}
	}
	return p, nil
}

// SplitFrontMatter splits src into its YAML front matter and its body. A
// file without front matter is all body. bodyLine is the 1-based line the
// body starts at; ok is false for an unterminated front matter.
func SplitFrontMatter(src string) (header, body string, bodyLine int, ok bool) {
	first, rest, found := strings.Cut(src, "\n")
	if strings.TrimRight(first, " \t\r") != "---" || !found {
		if strings.TrimRight(first, " \t\r") == "---" {
			return "", "", 0, false
		}
		return "", src, 1, true
	}
	line := 2
	offset := 0
	for {
		l, after, more := strings.Cut(rest[offset:], "\n")
		t := strings.TrimRight(l, " \t\r")
		if t == "---" || t == "..." {
			return rest[:offset], after, line + 1, true
		}
		if !more {
			return "", "", 0, false
		}
		offset += len(l) + 1
		line++
	}
}

// roleLine matches a chat role marker: the role alone on its line.
var roleLine = regexp.MustCompile(`^(system|user|assistant):[ \t]*\r?$`)

type section struct {
	role    string
	content string
	line    int // 1-based line of the content within the body
}

type sectionError struct {
	line int
	msg  string
}

func (e *sectionError) Error() string { return e.msg }

// splitRoles splits a chat body at its role markers. A body without markers
// is a text prompt: splitRoles returns nil sections.
func splitRoles(body string) ([]section, error) {
	lines := strings.SplitAfter(body, "\n")
	var out []section
	var cur *section
	var buf strings.Builder
	flush := func() {
		if cur != nil {
			var skipped int
			cur.content, skipped = trimBlankLines(buf.String())
			cur.line += skipped
			out = append(out, *cur)
		}
		buf.Reset()
	}
	for i, l := range lines {
		if m := roleLine.FindStringSubmatch(strings.TrimRight(l, "\n")); m != nil {
			if cur == nil && strings.TrimSpace(buf.String()) != "" {
				return nil, &sectionError{line: 1, msg: "text before the first role marker (system:, user: or assistant:)"}
			}
			flush()
			cur = &section{role: m[1], line: i + 2}
			continue
		}
		buf.WriteString(l)
	}
	if cur == nil {
		return nil, nil
	}
	flush()
	return out, nil
}

// trimBlankLines drops the blank lines around s and its trailing white
// space, and says how many lines it dropped from the top.
func trimBlankLines(s string) (string, int) {
	n := 0
	for {
		l, rest, ok := strings.Cut(s, "\n")
		if !ok || strings.TrimSpace(l) != "" {
			break
		}
		s = rest
		n++
	}
	return strings.TrimRight(s, " \t\r\n"), n
}

// jsonMap converts a YAML-decoded map into one encoding/json can encode.
func jsonMap(m map[string]any) (map[string]any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	v, err := jsonValue(m)
	if err != nil {
		return nil, err
	}
	return v.(map[string]any), nil
}

// jsonValue converts YAML values (which may have non-string map keys) into
// JSON values.
func jsonValue(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			c, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			out[k] = c
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			c, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = c
		}
		return out, nil
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			c, err := jsonValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = c
		}
		return out, nil
	case float64:
		if v != v || v > 1e308 || v < -1e308 {
			return nil, fmt.Errorf("%v is not a JSON number", v)
		}
		return v, nil
	default:
		return v, nil
	}
}

// parseModel accepts `model: gpt-4o-mini` or a mapping with provider, name
// (or PromptLedger's model_name) and fallback.
func parseModel(v any) (map[string]any, error) {
	switch m := v.(type) {
	case nil:
		return nil, nil
	case string:
		return map[string]any{"name": m}, nil
	case map[string]any:
		out, err := jsonMap(m)
		if err != nil {
			return nil, err
		}
		if n, ok := out["model_name"]; ok {
			if _, has := out["name"]; !has {
				out["name"] = n
			}
		}
		if fb, ok := m["fallback"]; ok {
			f, err := parseModel(fb)
			if err != nil {
				return nil, fmt.Errorf("fallback: %w", err)
			}
			out["fallback"] = f
		}
		return out, nil
	default:
		return nil, fmt.Errorf("want a model name or a mapping with provider and name")
	}
}

// parseSchema converts a YAML JSON Schema to JSON and checks that it
// compiles.
func (pr Parser) parseSchema(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	j, err := jsonValue(v)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(j)
	if err != nil {
		return nil, err
	}
	key := registry.Checksum(b) // a bounded key, however large the schema
	if pr.schemas != nil {
		if msg, ok := pr.schemas.Get(key); ok {
			if msg != "" {
				return nil, errors.New(msg)
			}
			return b, nil
		}
	}
	_, err = CompileSchema(b)
	if pr.schemas != nil {
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		pr.schemas.Add(key, msg)
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return []string{}
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
