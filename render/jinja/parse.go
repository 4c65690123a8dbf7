package jinja

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/loaders"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// Limits applied while parsing. They keep the recursive-descent parser and
// the tree walkers far away from the Go stack limit, whose overflow is a
// fatal error that recover cannot catch.
const (
	// MaxNesting is the deepest bracket or tag nesting a template may have.
	MaxNesting = 64
	// MaxSourceBytes is the largest template source Parse accepts.
	MaxSourceBytes = 4 << 20
)

// SyntaxError is a template that cannot be compiled: a lexer or parser
// error, what Jinja2's compiler rejects (an unknown filter or test,
// assigning to loop in a for loop, a caller parameter without default), a
// non-literal include target, a recursive macro, or nesting beyond
// MaxNesting. Line and Col are 1-based; 0 when unknown.
type SyntaxError struct {
	Name      string
	Line, Col int
	Msg       string
}

// Error implements error as "name:line:col: msg", the form editors read.
func (e *SyntaxError) Error() string {
	switch {
	case e.Line > 0 && e.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.Name, e.Line, e.Col, e.Msg)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d: %s", e.Name, e.Line, e.Msg)
	default:
		return fmt.Sprintf("%s: %s", e.Name, e.Msg)
	}
}

// Template is a compiled template. It is immutable: render it from as many
// goroutines as needed.
type Template struct {
	name    string
	root    *nodes.Template
	macros  map[string]*macroStmt // top-level macros, for import
	blocks  map[string]*blockStmt // named blocks, for extends
	extends string                // parent template, if any
	vars    []string
	refs    []string
	deps    []dependency
	// sizeHint is the initial capacity of the output buffer.
	sizeHint int
}

// Name returns the name the template was parsed under.
func (t *Template) Name() string { return t.name }

// Variables returns the sorted top-level variables the template reads, as
// Jinja2's meta.find_undeclared_variables computes them: names assigned by
// set, for, with, macro parameters and imports are not variables, nor are
// the globals (range, namespace, dict, lipsum, cycler, joiner) and loop.
// Variables read by included templates are not listed; callers combine
// them through References.
func (t *Template) Variables() []string { return append([]string(nil), t.vars...) }

// References returns the sorted, de-duplicated names of the templates this
// one includes, imports or extends.
func (t *Template) References() []string { return append([]string(nil), t.refs...) }

// ParseOption adjusts how Parse reads a template.
type ParseOption struct{ apply func(*config.Config) }

// TrimBlocks removes the first newline after a block tag, as Jinja2's
// trim_blocks does.
func TrimBlocks() ParseOption { return ParseOption{func(c *config.Config) { c.TrimBlocks = true }} }

// LStripBlocks strips spaces and tabs from the start of a line up to a
// block tag, as Jinja2's lstrip_blocks does.
func LStripBlocks() ParseOption {
	return ParseOption{func(c *config.Config) { c.LeftStripBlocks = true }}
}

// DropTrailingNewline removes a single trailing newline from the source
// (Jinja2's default keep_trailing_newline=False). By default the trailing
// newline is kept, since a prompt's bytes are its content.
func DropTrailingNewline() ParseOption {
	return ParseOption{func(c *config.Config) { c.KeepTrailingNewline = false }}
}

// Parse compiles src, the template called name, without rendering it. It
// never reads files: include, import and extends targets are recorded and
// resolved at render time through Options.Loader. Errors are *SyntaxError.
func Parse(name, src string, opts ...ParseOption) (t *Template, err error) {
	defer func() {
		if p := recover(); p != nil {
			t, err = nil, &SyntaxError{Name: name, Msg: fmt.Sprintf("malformed template (%v)", p)}
		}
	}()
	cfg := config.New()
	cfg.KeepTrailingNewline = true
	for _, opt := range opts {
		if opt.apply != nil {
			opt.apply(cfg)
		}
	}
	if len(src) > MaxSourceBytes {
		return nil, &SyntaxError{Name: name, Msg: fmt.Sprintf("template larger than %d bytes", MaxSourceBytes)}
	}
	if !utf8.ValidString(src) {
		line, col := position(src, invalidUTF8At(src))
		return nil, &SyntaxError{Name: name, Line: line, Col: col, Msg: "template is not valid UTF-8"}
	}
	toks, err := lex(name, src, cfg)
	if err != nil {
		return nil, err
	}
	toks, err = rewriteTokens(toks)
	if err != nil {
		err.(*SyntaxError).Name = name
		return nil, err
	}
	root, err := parseTokens(name, toks, cfg)
	if err != nil {
		return nil, err
	}
	t = &Template{name: name, root: root, sizeHint: min(len(src)+len(src)/4+64, 64<<10)}
	if err := t.analyze(); err != nil {
		return nil, err
	}
	return t, nil
}

func invalidUTF8At(s string) int {
	for i := 0; i < len(s); {
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(s)
}

// position converts a byte offset to a 1-based line and column.
func position(src string, pos int) (int, int) {
	if pos > len(src) {
		pos = len(src)
	}
	before := src[:pos]
	line := strings.Count(before, "\n") + 1
	col := pos - strings.LastIndexByte(before, '\n')
	return line, col
}

// parseTokens runs gonja's parser with the package's control structures and
// a loader that refuses everything.
func parseTokens(name string, toks []*tokens.Token, cfg *config.Config) (root *nodes.Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			root, err = nil, &SyntaxError{Name: name, Msg: fmt.Sprintf("malformed template (%v)", r)}
		}
	}()
	p := parser.NewParser(name, tokens.NewStream(toks), cfg, noLoader{}, controlStructures)
	root, err = p.Parse()
	if err != nil {
		return nil, syntaxError(name, err)
	}
	return root, nil
}

// syntaxError converts a gonja parser error into a *SyntaxError.
func syntaxError(name string, err error) error {
	var se *SyntaxError
	if errors.As(err, &se) {
		if se.Name == "" {
			se.Name = name
		}
		return se
	}
	var pe *parser.SyntaxError
	if errors.As(err, &pe) {
		msg := pe.Message
		if pe.Raw != "" && !strings.Contains(msg, pe.Raw) && len(pe.Raw) < 40 {
			msg = fmt.Sprintf("%s (near %q)", msg, pe.Raw)
		}
		return &SyntaxError{Name: name, Line: pe.Line, Col: pe.Column, Msg: msg}
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 && strings.HasPrefix(msg, "Unable to parse controlStructure") {
		msg = msg[i+2:]
	}
	return &SyntaxError{Name: name, Msg: msg}
}

// noLoader is the gonja loader given to the parser. The package's own
// control structures never call it; it exists so that nothing in gonja can
// fall back to the file system.
type noLoader struct{}

func (noLoader) Read(name string) (io.Reader, error) {
	return nil, fmt.Errorf("template %q: loading is not allowed while parsing", name)
}

func (noLoader) Resolve(name string) (string, error) {
	return "", fmt.Errorf("template %q: loading is not allowed while parsing", name)
}

func (noLoader) Inherit(string) (loaders.Loader, error) { return noLoader{}, nil }
