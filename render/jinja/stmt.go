package jinja

import (
	"fmt"
	"sort"

	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// This file holds the control structures ({% ... %} tags) the package
// registers with gonja's parser. gonja's own control structures keep their
// fields unexported, resolve includes through its file-system-style loaders
// and cannot be cancelled, so the package parses every tag itself into the
// node types below, which gonja's parser wraps in a
// nodes.ControlStructureBlock; analyze.go checks them once parsed and
// exec.go runs them.
//
// The set is exactly Jinja2's default tag set (no extensions): break,
// continue, do and trans are Jinja2 extensions and are syntax errors here, as
// they are in a default jinja2.Environment.

// stmtBase gives every statement node a position for error messages.
type stmtBase struct {
	loc *tokens.Token
}

// Position implements nodes.Node.
func (s *stmtBase) Position() *tokens.Token { return s.loc }

// ifStmt is {% if %}...{% elif %}...{% else %}...{% endif %}.
type ifStmt struct {
	stmtBase
	conds  []nodes.Expression
	bodies []*nodes.Wrapper // len(bodies) == len(conds)+1 when there is an else
}

func (s *ifStmt) String() string { return "if" }

// forStmt is {% for targets in iter [if cond] [recursive] %}.
type forStmt struct {
	stmtBase
	targets   []string
	iter      nodes.Expression
	cond      nodes.Expression
	recursive bool
	body      *nodes.Wrapper
	orElse    *nodes.Wrapper
	assigns   bool // the body assigns names: a fresh scope per iteration
}

func (s *forStmt) String() string { return "for" }

// setStmt is {% set a = v %}, {% set a, b = v %}, {% set ns.attr = v %}
// or the block form {% set a | filters %}...{% endset %}.
type setStmt struct {
	stmtBase
	targets []string // names; empty when attr is set
	nsName  string   // {% set ns.attr = v %}
	nsAttr  string
	value   nodes.Expression
	body    *nodes.Wrapper
	filters []*nodes.FilterCall
}

func (s *setStmt) String() string { return "set" }

// withStmt is {% with a = 1, b = 2 %}...{% endwith %}.
type withStmt struct {
	stmtBase
	names  []string
	values []nodes.Expression
	body   *nodes.Wrapper
}

func (s *withStmt) String() string { return "with" }

// macroStmt is {% macro name(params) %}...{% endmacro %}.
type macroStmt struct {
	stmtBase
	name     string
	params   []string
	defaults []nodes.Expression // aligned with params, nil when no default
	body     *nodes.Wrapper

	// Filled by the analysis: which implicit names the body reads.
	usesCaller, usesVarargs, usesKwargs bool
	// anonymous marks the body of a call block (named caller here, for
	// error messages): Jinja2 gives it no name.
	anonymous bool
}

func (s *macroStmt) String() string { return "macro " + s.name }

// callStmt is {% call(params) macro(args) %}...{% endcall %}.
type callStmt struct {
	stmtBase
	caller *macroStmt // the body as an anonymous macro
	call   *nodes.Call
}

func (s *callStmt) String() string { return "call" }

// filterStmt is {% filter f | g %}...{% endfilter %}.
type filterStmt struct {
	stmtBase
	filters []*nodes.FilterCall
	body    *nodes.Wrapper
}

func (s *filterStmt) String() string { return "filter" }

// blockStmt is {% block name [scoped] %}...{% endblock %}.
type blockStmt struct {
	stmtBase
	name   string
	scoped bool // sees the names around it, not only the template's context
	body   *nodes.Wrapper
}

func (s *blockStmt) String() string { return "block " + s.name }

// extendsStmt is {% extends "name" %}.
type extendsStmt struct {
	stmtBase
	target string
}

func (s *extendsStmt) String() string { return "extends " + s.target }

// includeStmt is {% include "name" [ignore missing] [with|without context] %}.
type includeStmt struct {
	stmtBase
	target        string
	ignoreMissing bool
	withContext   bool
}

func (s *includeStmt) String() string { return "include " + s.target }

// importStmt is {% import "name" as alias %}.
type importStmt struct {
	stmtBase
	target      string
	alias       string
	withContext bool
}

func (s *importStmt) String() string { return "import " + s.target }

// fromImportStmt is {% from "name" import a, b as c %}.
type fromImportStmt struct {
	stmtBase
	target      string
	names       []string
	aliases     []string
	withContext bool
}

func (s *fromImportStmt) String() string { return "from " + s.target }

// rawStmt is {% raw %}...{% endraw %}.
type rawStmt struct {
	stmtBase
	data *nodes.Data
}

func (s *rawStmt) String() string { return "raw" }

// autoescapeStmt is {% autoescape expr %}...{% endautoescape %}.
type autoescapeStmt struct {
	stmtBase
	value nodes.Expression
	body  *nodes.Wrapper
}

func (s *autoescapeStmt) String() string { return "autoescape" }

// controlStructures is the tag set handed to gonja's parser. It is never
// modified after construction, so sharing it between goroutines is safe.
var controlStructures = exec.NewControlStructureSet(map[string]parser.ControlStructureParser{
	"if":         parseIf,
	"for":        parseFor,
	"set":        parseSet,
	"with":       parseWith,
	"macro":      parseMacro,
	"call":       parseCall,
	"filter":     parseFilterBlock,
	"block":      parseBlock,
	"extends":    parseExtends,
	"include":    parseInclude,
	"import":     parseImport,
	"from":       parseFromImport,
	"raw":        parseRaw,
	"autoescape": parseAutoescape,
})

// reserved names that cannot be assignment targets.
var reservedNames = map[string]bool{
	"true": true, "false": true, "none": true, "True": true, "False": true, "None": true,
}

// errAt builds a positioned syntax error: at args' current token when it has
// a position, else at the token following the tag.
func errAt(p, args *parser.Parser, msg string) error {
	tok := args.Current()
	if tok == nil || tok.Line == 0 {
		tok = p.Current()
	}
	if tok == nil {
		return &SyntaxError{Msg: msg}
	}
	return &parser.SyntaxError{Message: msg, Raw: tok.Val, Line: tok.Line, Column: tok.Col}
}

func location(p, args *parser.Parser) stmtBase {
	tok := args.Current()
	if tok == nil || tok.Line == 0 {
		tok = p.Current()
	}
	return stmtBase{loc: tok}
}

// expectEnd fails unless args is exhausted.
func expectEnd(p, args *parser.Parser, what string) error {
	if !args.End() {
		return errAt(p, args, fmt.Sprintf("unexpected %q in %s tag", args.Current().Val, what))
	}
	return nil
}

// parseBody ends the opening {% tag %} and reads the body up to
// {% endtag %}, whose arguments it returns unread.
func parseBody(p, args *parser.Parser, tag string) (*nodes.Wrapper, *parser.Parser, error) {
	if err := expectEnd(p, args, tag); err != nil {
		return nil, nil, err
	}
	return p.WrapUntil("end" + tag)
}

// parseBareBody is parseBody for a tag whose end tag takes no arguments.
func parseBareBody(p, args *parser.Parser, tag string) (*nodes.Wrapper, error) {
	body, endArgs, err := parseBody(p, args, tag)
	if err != nil {
		return nil, err
	}
	return body, expectEnd(p, endArgs, "end"+tag)
}

// parseExpr parses an expression with an optional inline "if c else a".
func parseExpr(p, args *parser.Parser) (nodes.Expression, error) {
	expr, err := args.ParseExpression()
	if err != nil {
		return nil, err
	}
	if expr == nil {
		return nil, errAt(p, args, "expected an expression")
	}
	if args.CurrentName("if") != nil {
		cond, alt, err := args.ParseCondition()
		if err != nil {
			return nil, err
		}
		expr = &condExpr{expr: expr, cond: cond, alt: alt}
	}
	return expr, nil
}

// condExpr is "a if c else b" where gonja's parser only offers it in
// {{ }} output nodes; statements build it themselves.
type condExpr struct {
	expr, cond, alt nodes.Expression
}

func (c *condExpr) Position() *tokens.Token { return c.expr.Position() }
func (c *condExpr) String() string          { return fmt.Sprintf("%s if %s else %s", c.expr, c.cond, c.alt) }

func parseIf(p, args *parser.Parser) (nodes.ControlStructure, error) {
	s := &ifStmt{stmtBase: location(p, args)}
	cond, err := parseExpr(p, args)
	if err != nil {
		return nil, err
	}
	if err := expectEnd(p, args, "if"); err != nil {
		return nil, err
	}
	s.conds = append(s.conds, cond)
	sawElse := false
	for {
		body, tagArgs, err := p.WrapUntil("elif", "else", "endif")
		if err != nil {
			return nil, err
		}
		s.bodies = append(s.bodies, body)
		switch body.EndTag {
		case "elif":
			if sawElse {
				return nil, errAt(p, tagArgs, "elif after else")
			}
			cond, err := parseExpr(p, tagArgs)
			if err != nil {
				return nil, err
			}
			if err := expectEnd(p, tagArgs, "elif"); err != nil {
				return nil, err
			}
			s.conds = append(s.conds, cond)
		case "else":
			if sawElse {
				return nil, errAt(p, tagArgs, "else after else")
			}
			sawElse = true
			if err := expectEnd(p, tagArgs, "else"); err != nil {
				return nil, err
			}
		default:
			return s, expectEnd(p, tagArgs, "endif")
		}
	}
}

func parseTargets(p, args *parser.Parser, what string) ([]string, error) {
	var names []string
	paren := args.Match(tokens.LeftParenthesis) != nil
	for {
		tok := args.Match(tokens.Name)
		if tok == nil {
			return nil, errAt(p, args, "expected a name as "+what+" target")
		}
		if reservedNames[tok.Val] {
			return nil, errAt(p, args, "cannot assign to "+tok.Val)
		}
		names = append(names, tok.Val)
		if args.Match(tokens.Comma) == nil {
			break
		}
		if paren && args.Current(tokens.RightParenthesis) != nil {
			break
		}
	}
	if paren && args.Match(tokens.RightParenthesis) == nil {
		return nil, errAt(p, args, "expected ')'")
	}
	return names, nil
}

func parseFor(p, args *parser.Parser) (nodes.ControlStructure, error) {
	s := &forStmt{stmtBase: location(p, args)}
	targets, err := parseTargets(p, args, "for")
	if err != nil {
		return nil, err
	}
	s.targets = targets
	if args.Match(tokens.In) == nil {
		return nil, errAt(p, args, "expected 'in' in for tag")
	}
	iter, err := args.ParseExpression()
	if err != nil {
		return nil, err
	}
	if iter == nil {
		return nil, errAt(p, args, "expected an iterable in for tag")
	}
	// {% for x in a, b %}: a bare tuple.
	if args.Current(tokens.Comma) != nil {
		items := []nodes.Expression{iter}
		for args.Match(tokens.Comma) != nil {
			if args.End() || args.CurrentName("if", "recursive") != nil {
				break
			}
			item, err := args.ParseExpression()
			if err != nil {
				return nil, err
			}
			if item == nil {
				return nil, errAt(p, args, "expected an expression after ','")
			}
			items = append(items, item)
		}
		iter = &nodes.Tuple{Location: iter.Position(), Val: items}
	}
	s.iter = iter
	if args.MatchName("if") != nil {
		cond, err := args.ParseExpression()
		if err != nil {
			return nil, err
		}
		s.cond = cond
	}
	if args.MatchName("recursive") != nil {
		s.recursive = true
	}
	if err := expectEnd(p, args, "for"); err != nil {
		return nil, err
	}
	body, endArgs, err := p.WrapUntil("else", "endfor")
	if err != nil {
		return nil, err
	}
	s.body = body
	if err := expectEnd(p, endArgs, body.EndTag); err != nil {
		return nil, err
	}
	if body.EndTag == "else" {
		orElse, endArgs, err := p.WrapUntil("endfor")
		if err != nil {
			return nil, err
		}
		if err := expectEnd(p, endArgs, "endfor"); err != nil {
			return nil, err
		}
		s.orElse = orElse
	}
	return s, nil
}

func parseSet(p, args *parser.Parser) (nodes.ControlStructure, error) {
	s := &setStmt{stmtBase: location(p, args)}
	first := args.Match(tokens.Name)
	if first == nil {
		return nil, errAt(p, args, "expected a name as set target")
	}
	switch {
	case args.Match(tokens.Dot) != nil:
		attr := args.Match(tokens.Name)
		if attr == nil {
			return nil, errAt(p, args, "expected an attribute name in set tag")
		}
		s.nsName, s.nsAttr = first.Val, attr.Val
	case args.Current(tokens.LeftBracket) != nil:
		return nil, errAt(p, args, "cannot assign to a subscript; use a namespace attribute")
	default:
		if reservedNames[first.Val] {
			return nil, errAt(p, args, "cannot assign to "+first.Val)
		}
		s.targets = []string{first.Val}
		for args.Match(tokens.Comma) != nil {
			tok := args.Match(tokens.Name)
			if tok == nil {
				return nil, errAt(p, args, "expected a name as set target")
			}
			s.targets = append(s.targets, tok.Val)
		}
	}
	if args.Match(tokens.Assign) != nil {
		value, err := parseExpr(p, args)
		if err != nil {
			return nil, err
		}
		// {% set a, b = 1, 2 %}: a bare tuple on the right.
		if args.Current(tokens.Comma) != nil {
			items := []nodes.Expression{value}
			for args.Match(tokens.Comma) != nil {
				if args.End() {
					break
				}
				item, err := parseExpr(p, args)
				if err != nil {
					return nil, err
				}
				items = append(items, item)
			}
			value = &nodes.Tuple{Location: value.Position(), Val: items}
		}
		s.value = value
		return s, expectEnd(p, args, "set")
	}
	// Block form, with optional filters.
	if s.nsName != "" || len(s.targets) != 1 {
		return nil, errAt(p, args, "block set takes a single name")
	}
	for args.Match(tokens.Pipe) != nil {
		f, err := args.ParseFilter()
		if err != nil {
			return nil, err
		}
		s.filters = append(s.filters, f)
	}
	body, err := parseBareBody(p, args, "set")
	if err != nil {
		return nil, err
	}
	s.body = body
	return s, nil
}

func parseWith(p, args *parser.Parser) (nodes.ControlStructure, error) {
	s := &withStmt{stmtBase: location(p, args)}
	for !args.End() {
		name := args.Match(tokens.Name)
		if name == nil {
			return nil, errAt(p, args, "expected a name in with tag")
		}
		if args.Match(tokens.Assign) == nil {
			return nil, errAt(p, args, "expected '=' in with tag")
		}
		value, err := parseExpr(p, args)
		if err != nil {
			return nil, err
		}
		s.names = append(s.names, name.Val)
		s.values = append(s.values, value)
		if args.Match(tokens.Comma) == nil {
			break
		}
		if args.End() {
			return nil, errAt(p, args, "expected a name after ',' in with tag")
		}
	}
	body, err := parseBareBody(p, args, "with")
	if err != nil {
		return nil, err
	}
	s.body = body
	return s, nil
}

// parseParams parses "(a, b=1)" into a macro signature.
func parseParams(p, args *parser.Parser, m *macroStmt) error {
	if args.Match(tokens.LeftParenthesis) == nil {
		return errAt(p, args, "expected '(' after macro name")
	}
	seen := map[string]bool{}
	for args.Match(tokens.RightParenthesis) == nil {
		name := args.Match(tokens.Name)
		if name == nil {
			return errAt(p, args, "expected a parameter name")
		}
		if seen[name.Val] {
			return errAt(p, args, "duplicate parameter "+name.Val)
		}
		seen[name.Val] = true
		var def nodes.Expression
		if args.Match(tokens.Assign) != nil {
			expr, err := parseExpr(p, args)
			if err != nil {
				return err
			}
			def = expr
		} else if len(m.defaults) > 0 && m.defaults[len(m.defaults)-1] != nil {
			return errAt(p, args, "non-default argument follows default argument")
		}
		m.params = append(m.params, name.Val)
		m.defaults = append(m.defaults, def)
		if args.Match(tokens.RightParenthesis) != nil {
			break
		}
		if args.Match(tokens.Comma) == nil {
			return errAt(p, args, "expected ',' or ')' in parameter list")
		}
		if args.Current(tokens.RightParenthesis) != nil {
			return errAt(p, args, "expected a parameter name after ','")
		}
	}
	return nil
}

func parseMacro(p, args *parser.Parser) (nodes.ControlStructure, error) {
	m := &macroStmt{stmtBase: location(p, args)}
	name := args.Match(tokens.Name)
	if name == nil {
		return nil, errAt(p, args, "expected a macro name")
	}
	m.name = name.Val
	if err := parseParams(p, args, m); err != nil {
		return nil, err
	}
	body, endArgs, err := parseBody(p, args, "macro")
	if err != nil {
		return nil, err
	}
	m.body = body
	if n := endArgs.Match(tokens.Name); n != nil && n.Val != m.name {
		return nil, errAt(p, endArgs, "endmacro name does not match")
	}
	return m, expectEnd(p, endArgs, "endmacro")
}

func parseCall(p, args *parser.Parser) (nodes.ControlStructure, error) {
	s := &callStmt{stmtBase: location(p, args)}
	caller := &macroStmt{stmtBase: s.stmtBase, name: "caller", anonymous: true}
	if args.Current(tokens.LeftParenthesis) != nil {
		if err := parseParams(p, args, caller); err != nil {
			return nil, err
		}
	}
	expr, err := args.ParseExpression()
	if err != nil {
		return nil, err
	}
	call, ok := expr.(*nodes.Call)
	if fe, isFilter := expr.(*nodes.FilteredExpression); isFilter && fe.Filters[len(fe.Filters)-1].Name == callFunc {
		// {% call x|f()() %}: the rewritten call of a filter's result.
		last := fe.Filters[len(fe.Filters)-1]
		var callee nodes.Expression = fe.Expression
		if len(fe.Filters) > 1 {
			callee = &nodes.FilteredExpression{Expression: fe.Expression, Filters: fe.Filters[:len(fe.Filters)-1]}
		}
		call, ok = &nodes.Call{Location: last.Token, Func: callee, Args: last.Args, Kwargs: last.Kwargs}, true
	}
	if !ok {
		return nil, errAt(p, args, "expected a call expression in call tag")
	}
	s.call = call
	body, err := parseBareBody(p, args, "call")
	if err != nil {
		return nil, err
	}
	caller.body = body
	s.caller = caller
	return s, nil
}

func parseFilterBlock(p, args *parser.Parser) (nodes.ControlStructure, error) {
	s := &filterStmt{stmtBase: location(p, args)}
	for {
		f, err := args.ParseFilter()
		if err != nil {
			return nil, err
		}
		s.filters = append(s.filters, f)
		if args.Match(tokens.Pipe) == nil {
			break
		}
	}
	body, err := parseBareBody(p, args, "filter")
	if err != nil {
		return nil, err
	}
	s.body = body
	return s, nil
}

func parseBlock(p, args *parser.Parser) (nodes.ControlStructure, error) {
	s := &blockStmt{stmtBase: location(p, args)}
	name := args.Match(tokens.Name)
	if name == nil {
		return nil, errAt(p, args, "expected a block name")
	}
	s.name = name.Val
	s.scoped = args.MatchName("scoped") != nil
	args.MatchName("required")
	body, endArgs, err := parseBody(p, args, "block")
	if err != nil {
		return nil, err
	}
	s.body = body
	if n := endArgs.Match(tokens.Name); n != nil && n.Val != s.name {
		return nil, errAt(p, endArgs, fmt.Sprintf("endblock %q does not match block %q", n.Val, s.name))
	}
	return s, expectEnd(p, endArgs, "endblock")
}

// parseTarget reads the template name of include/import/extends/from: a
// string literal. A computed name would make the dependency graph (and so
// ETags, cycle checks and the variables list) depend on the data.
func parseTarget(p, args *parser.Parser, what string) (string, error) {
	if tok := args.Current(tokens.String); tok != nil {
		next := args.Peek()
		if next == nil || next.Type == tokens.EOF || next.Type == tokens.Name || next.Type == tokens.Error {
			args.Consume()
			return tok.Val, nil
		}
	}
	return "", errAt(p, args, what+" target must be a string literal")
}

func parseContextMod(args *parser.Parser, def bool) bool {
	if tok := args.MatchName("with", "without"); tok != nil {
		if args.MatchName("context") != nil {
			return tok.Val == "with"
		}
		args.Stream().Backup()
	}
	return def
}

func parseExtends(p, args *parser.Parser) (nodes.ControlStructure, error) {
	s := &extendsStmt{stmtBase: location(p, args)}
	target, err := parseTarget(p, args, "extends")
	if err != nil {
		return nil, err
	}
	s.target = target
	return s, expectEnd(p, args, "extends")
}

func parseInclude(p, args *parser.Parser) (nodes.ControlStructure, error) {
	s := &includeStmt{stmtBase: location(p, args)}
	target, err := parseTarget(p, args, "include")
	if err != nil {
		return nil, err
	}
	s.target = target
	if args.MatchName("ignore") != nil {
		if args.MatchName("missing") == nil {
			return nil, errAt(p, args, "expected 'missing' after 'ignore'")
		}
		s.ignoreMissing = true
	}
	s.withContext = parseContextMod(args, true)
	return s, expectEnd(p, args, "include")
}

func parseImport(p, args *parser.Parser) (nodes.ControlStructure, error) {
	s := &importStmt{stmtBase: location(p, args)}
	target, err := parseTarget(p, args, "import")
	if err != nil {
		return nil, err
	}
	s.target = target
	if args.MatchName("as") == nil {
		return nil, errAt(p, args, "expected 'as' in import tag")
	}
	alias := args.Match(tokens.Name)
	if alias == nil {
		return nil, errAt(p, args, "expected a name after 'as'")
	}
	s.alias = alias.Val
	s.withContext = parseContextMod(args, false)
	return s, expectEnd(p, args, "import")
}

func parseFromImport(p, args *parser.Parser) (nodes.ControlStructure, error) {
	s := &fromImportStmt{stmtBase: location(p, args)}
	target, err := parseTarget(p, args, "from")
	if err != nil {
		return nil, err
	}
	s.target = target
	if args.MatchName("import") == nil {
		return nil, errAt(p, args, "expected 'import' in from tag")
	}
	for {
		if tok := args.CurrentName("with", "without"); tok != nil {
			if next := args.Peek(); next != nil && next.Val == "context" {
				break
			}
		}
		name := args.Match(tokens.Name)
		if name == nil {
			return nil, errAt(p, args, "expected a name to import")
		}
		alias := name.Val
		if args.MatchName("as") != nil {
			tok := args.Match(tokens.Name)
			if tok == nil {
				return nil, errAt(p, args, "expected a name after 'as'")
			}
			alias = tok.Val
		}
		s.names = append(s.names, name.Val)
		s.aliases = append(s.aliases, alias)
		if args.Match(tokens.Comma) == nil {
			break
		}
	}
	s.withContext = parseContextMod(args, false)
	return s, expectEnd(p, args, "from")
}

func parseRaw(p, args *parser.Parser) (nodes.ControlStructure, error) {
	s := &rawStmt{stmtBase: location(p, args)}
	body, _, err := parseBody(p, args, "raw")
	if err != nil {
		return nil, err
	}
	switch len(body.Nodes) {
	case 0:
	case 1:
		data, ok := body.Nodes[0].(*nodes.Data)
		if !ok {
			return nil, errAt(p, args, "malformed raw block")
		}
		s.data = data
	default:
		return nil, errAt(p, args, "malformed raw block")
	}
	return s, nil
}

func parseAutoescape(p, args *parser.Parser) (nodes.ControlStructure, error) {
	s := &autoescapeStmt{stmtBase: location(p, args)}
	value, err := parseExpr(p, args)
	if err != nil {
		return nil, err
	}
	s.value = value
	body, err := parseBareBody(p, args, "autoescape")
	if err != nil {
		return nil, err
	}
	s.body = body
	return s, nil
}

// sortedKwargs returns the keyword arguments of a call in source order
// (gonja stores them in a map).
func sortedKwargs(kw map[string]nodes.Expression) []string {
	if len(kw) == 0 {
		return nil
	}
	keys := make([]string, 0, len(kw))
	for k := range kw {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := kw[keys[i]].Position(), kw[keys[j]].Position()
		if a.Pos != b.Pos {
			return a.Pos < b.Pos
		}
		return keys[i] < keys[j]
	})
	return keys
}
