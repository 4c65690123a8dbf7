package jinja

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// globalNames are provided by the renderer; reading them is not reading a
// variable.
var globalNames = map[string]bool{
	"range": true, "lipsum": true, "dict": true, "cycler": true, "joiner": true,
	"namespace": true, "loop": true, "self": true, "none": true, "true": true, "false": true,
	condFunc: true, chainFunc: true,
}

// scope is one level of names declared by the template itself.
type scope struct {
	names  map[string]bool
	parent *scope
}

func (s *scope) child(names ...string) *scope {
	c := &scope{names: make(map[string]bool, len(names)), parent: s}
	for _, n := range names {
		c.names[n] = true
	}
	return c
}

func (s *scope) declare(name string) { s.names[name] = true }

// all returns every name visible in s.
func (s *scope) all() map[string]bool {
	out := map[string]bool{}
	for ; s != nil; s = s.parent {
		for n := range s.names {
			out[n] = true
		}
	}
	return out
}

func (s *scope) has(name string) bool {
	for ; s != nil; s = s.parent {
		if s.names[name] {
			return true
		}
	}
	return false
}

// analyzer walks the AST once after parsing: it collects variables,
// references, macros and blocks, and checks what the parser cannot.
type analyzer struct {
	t      *Template
	vars   map[string]bool
	refs   map[string]bool
	macros []*macroStmt        // every macro, nested ones included
	uses   map[*macroStmt]*use // names read inside each macro body
	stack  []*macroStmt        // macros being walked, innermost last
	inner  []*scope            // the parameter scope of each macro in stack
	err    error

	// explicitCaller[i] holds while stack[i] has a parameter named caller
	// without a default and no assignment to caller has been seen in its
	// body yet: reading caller then is Jinja2's error (see readCaller).
	explicitCaller []bool
	// callerFrom is the first macro of stack that sees reads and
	// assignments of caller: Jinja2's check does not look into blocks.
	callerFrom int
	// inFor counts the for loops being walked; inside one, assigning to
	// loop is an error.
	inFor int
}

type use struct {
	names map[string]*tokens.Token
}

func (t *Template) analyze() error {
	a := &analyzer{
		t:    t,
		vars: map[string]bool{},
		refs: map[string]bool{},
		uses: map[*macroStmt]*use{},
	}
	t.macros = map[string]*macroStmt{}
	t.blocks = map[string]*blockStmt{}
	top := (&scope{}).child()
	for _, n := range t.root.Nodes {
		a.node(n, top, true)
	}
	if a.err != nil {
		return a.err
	}
	if err := a.checkRecursion(); err != nil {
		return err
	}
	for i, d := range t.deps {
		if d.shared != nil { // extends: the child's top level, once complete
			t.deps[i].declared, t.deps[i].shared = d.shared.all(), nil
		}
	}
	t.vars = sortedSet(a.vars)
	t.refs = sortedSet(a.refs)
	return nil
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (a *analyzer) fail(tok *tokens.Token, format string, args ...any) {
	if a.err != nil {
		return
	}
	se := &SyntaxError{Name: a.t.name, Msg: fmt.Sprintf(format, args...)}
	if tok != nil {
		se.Line, se.Col = tok.Line, tok.Col
	}
	a.err = se
}

func (a *analyzer) body(w *nodes.Wrapper, sc *scope) {
	if w == nil {
		return
	}
	for _, n := range w.Nodes {
		a.node(n, sc, false)
	}
}

func (a *analyzer) node(n nodes.Node, sc *scope, topLevel bool) {
	switch n := n.(type) {
	case *nodes.Data:
		finishData(n)
	case nil, *nodes.Comment:
	case *nodes.Output:
		a.expr(n.Expression, sc)
		a.expr(n.Condition, sc)
		a.expr(n.Alternative, sc)
	case *nodes.ControlStructureBlock:
		a.stmt(n, sc, topLevel)
	default:
		a.fail(n.Position(), "unexpected %T", n)
	}
}

func (a *analyzer) stmt(block *nodes.ControlStructureBlock, sc *scope, topLevel bool) {
	switch s := block.ControlStructure.(type) {
	// The walk follows the order of Jinja2's compiler (a for's targets
	// before its iterable, its condition last; a filter block's body before
	// its filters), which the caller check depends on.
	case *ifStmt:
		for i, b := range s.bodies {
			if i < len(s.conds) {
				a.expr(s.conds[i], sc)
			}
			a.body(b, sc.child())
		}
	case *forStmt:
		a.assign(s.targets...)
		if slices.Contains(s.targets, "loop") {
			a.fail(block.Location, "Can't assign to special loop variable in for-loop target")
		}
		a.expr(s.iter, sc)
		a.inFor++
		a.body(s.body, sc.child(append([]string{"loop"}, s.targets...)...))
		a.body(s.orElse, sc.child())
		a.inFor--
		a.expr(s.cond, sc.child(append([]string{"loop"}, s.targets...)...))
		s.assigns = assignsIn(s.body)
	case *setStmt:
		a.assign(s.targets...)
		if a.inFor > 0 && slices.Contains(s.targets, "loop") {
			a.fail(block.Location, "Can't assign to special loop variable in for-loop target")
		}
		if s.nsName != "" {
			a.name(s.nsName, sc, block.Location)
		}
		a.expr(s.value, sc)
		for _, f := range s.filters {
			a.filterArgs(f, sc)
		}
		for _, t := range s.targets {
			sc.declare(t)
		}
		a.body(s.body, sc.child())
	case *withStmt:
		a.assign(s.names...)
		a.exprs(s.values, sc)
		a.body(s.body, sc.child(s.names...))
	case *macroStmt:
		sc.declare(s.name)
		if topLevel {
			a.t.macros[s.name] = s
		}
		a.macro(s, sc)
	case *callStmt:
		a.expr(s.call, sc)
		a.macro(s.caller, sc)
	case *filterStmt:
		a.body(s.body, sc.child())
		for _, f := range s.filters {
			a.filterArgs(f, sc)
		}
	case *blockStmt:
		if _, dup := a.t.blocks[s.name]; dup {
			a.fail(block.Location, "block %q defined twice", s.name)
		}
		a.t.blocks[s.name] = s
		saved := a.callerFrom
		a.callerFrom = len(a.stack)
		a.body(s.body, sc.child("super"))
		a.callerFrom = saved
	case *extendsStmt:
		a.t.deps = append(a.t.deps, dependency{target: s.target, shared: sc})
		if !topLevel {
			a.fail(block.Location, "extends must be at the top level")
		}
		if a.t.extends != "" {
			a.fail(block.Location, "extends used twice")
		}
		a.t.extends = s.target
		a.refs[s.target] = true
	case *includeStmt:
		a.ref(s.target, s.withContext, sc)
	case *importStmt:
		a.ref(s.target, s.withContext, sc)
		sc.declare(s.alias)
	case *fromImportStmt:
		a.ref(s.target, s.withContext, sc)
		for _, alias := range s.aliases {
			sc.declare(alias)
		}
	case *rawStmt:
		if s.data != nil {
			finishData(s.data)
		}
	case *autoescapeStmt:
		a.expr(s.value, sc)
		a.body(s.body, sc.child())
	default:
		a.fail(block.Location, "unsupported tag %q", block.Name)
	}
}

// ref records a reference to the template target by include or import; with
// context, target also reads the names sc declares.
func (a *analyzer) ref(target string, withContext bool, sc *scope) {
	a.refs[target] = true
	if withContext {
		a.t.deps = append(a.t.deps, dependency{target: target, declared: sc.all()})
	}
}

func (a *analyzer) macro(m *macroStmt, sc *scope) {
	a.assign(m.params...)
	a.exprs(m.defaults, sc)
	a.macros = append(a.macros, m)
	a.uses[m] = &use{names: map[string]*tokens.Token{}}
	inner := sc.child(m.params...)
	explicit := false
	for i, p := range m.params {
		explicit = explicit || p == "caller" && m.defaults[i] == nil
	}
	a.stack = append(a.stack, m)
	a.inner = append(a.inner, inner)
	a.explicitCaller = append(a.explicitCaller, explicit)
	a.body(m.body, inner)
	a.stack = a.stack[:len(a.stack)-1]
	a.inner = a.inner[:len(a.inner)-1]
	a.explicitCaller = a.explicitCaller[:len(a.explicitCaller)-1]
}

// assign records an assignment to names (a set, for or with target, or a
// parameter), for the caller check: once caller is assigned in a macro's
// body, reading it reads that variable (see readCaller).
func (a *analyzer) assign(names ...string) {
	if slices.Contains(names, "caller") {
		for i := a.callerFrom; i < len(a.explicitCaller); i++ {
			a.explicitCaller[i] = false
		}
	}
}

// readCaller applies Jinja2's rule for a macro or call block whose body
// reads caller before assigning it: caller is then the caller's body,
// passed implicitly, so a parameter of that name must have a default.
func (a *analyzer) readCaller(tok *tokens.Token) {
	for i := a.callerFrom; i < len(a.explicitCaller); i++ {
		if a.explicitCaller[i] {
			a.fail(tok, `When defining macros or call blocks the special "caller" argument must be omitted or be given a default.`)
		}
	}
}

func (a *analyzer) filterArgs(f *nodes.FilterCall, sc *scope) {
	if filters[f.Name] == nil && f.Name != callFunc {
		a.fail(f.Token, "no filter named '%s'", f.Name)
	}
	a.args(f.Args, f.Kwargs, sc)
}

// args walks the arguments of a call, filter or test.
func (a *analyzer) args(args []nodes.Expression, kwargs map[string]nodes.Expression, sc *scope) {
	a.exprs(args, sc)
	for _, arg := range kwargs {
		a.expr(arg, sc)
	}
}

func (a *analyzer) exprs(list []nodes.Expression, sc *scope) {
	for _, e := range list {
		a.expr(e, sc)
	}
}

// name records a read of name.
func (a *analyzer) name(name string, sc *scope, tok *tokens.Token) {
	if name == "caller" {
		a.readCaller(tok)
	}
	if len(a.stack) > 0 {
		m := a.stack[len(a.stack)-1]
		for i, outer := range a.stack {
			if declaredWithin(sc, a.inner[i], name) {
				continue // a parameter or local of that macro
			}
			if _, seen := a.uses[outer].names[name]; !seen {
				a.uses[outer].names[name] = tok
			}
		}
		if !sc.has(name) {
			switch name {
			case "caller":
				m.usesCaller = true
				return
			case "varargs":
				m.usesVarargs = true
				return
			case "kwargs":
				m.usesKwargs = true
				return
			}
		}
	}
	if sc.has(name) || globalNames[name] {
		return
	}
	a.vars[name] = true
}

// declaredWithin reports whether name is declared in sc or its ancestors up
// to and including stop.
func declaredWithin(sc, stop *scope, name string) bool {
	for ; sc != nil; sc = sc.parent {
		if sc.names[name] {
			return true
		}
		if sc == stop {
			return false
		}
	}
	return false
}

func (a *analyzer) expr(e nodes.Node, sc *scope) {
	switch e := e.(type) {
	case nil, *nodes.String, *nodes.Integer, *nodes.Float, *nodes.Bool, *nodes.None, *nodes.Error:
	case *nodes.Name:
		a.name(e.Name.Val, sc, e.Name)
	case *nodes.Call:
		a.expr(e.Func, sc)
		a.args(e.Args, e.Kwargs, sc)
	case *nodes.GetItem:
		a.expr(e.Node, sc)
		a.expr(e.Arg, sc)
	case *nodes.GetSlice:
		a.expr(e.Node, sc)
		a.expr(e.Start, sc)
		a.expr(e.End, sc)
		a.expr(e.Step, sc)
	case *nodes.GetAttribute:
		a.expr(e.Node, sc)
	case *nodes.FilteredExpression:
		a.expr(e.Expression, sc)
		for _, f := range e.Filters {
			a.filterArgs(f, sc)
		}
	case *nodes.TestExpression:
		if tests[e.Test.Name] == nil {
			a.fail(e.Test.Token, "no test named '%s'", e.Test.Name)
		}
		a.expr(e.Expression, sc)
		a.args(e.Test.Args, e.Test.Kwargs, sc)
	case *nodes.BinaryExpression:
		a.expr(e.Left, sc)
		a.expr(e.Right, sc)
	case *nodes.UnaryExpression:
		a.expr(e.Term, sc)
	case *nodes.Negation:
		a.expr(e.Term, sc)
	case *nodes.List:
		a.exprs(e.Val, sc)
	case *nodes.Tuple:
		a.exprs(e.Val, sc)
	case *nodes.Dict:
		for _, p := range e.Pairs {
			a.expr(p.Key, sc)
			a.expr(p.Value, sc)
		}
	case *nodes.Pair:
		a.expr(e.Key, sc)
		a.expr(e.Value, sc)
	case *condExpr:
		a.expr(e.expr, sc)
		a.expr(e.cond, sc)
		a.expr(e.alt, sc)
	default:
		a.fail(e.Position(), "unsupported expression %s", e)
	}
}

// checkRecursion rejects macros that reach themselves through the names
// they read: direct (f calls f) and mutual (f calls g calls f) recursion.
// A recursive macro would need an unbounded Go stack; the renderer also caps
// the call depth at run time, for what names cannot show (a macro passed as
// an argument).
func (a *analyzer) checkRecursion() error {
	byName := map[string][]*macroStmt{}
	for _, m := range a.macros {
		if m.name != "caller" {
			byName[m.name] = append(byName[m.name], m)
		}
	}
	const (
		white = iota
		grey
		black
	)
	color := map[*macroStmt]int{}
	var path []string
	var visit func(m *macroStmt) error
	visit = func(m *macroStmt) error {
		color[m] = grey
		path = append(path, m.name)
		names := make([]string, 0, len(a.uses[m].names))
		for n := range a.uses[m].names {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			for _, callee := range byName[n] {
				switch color[callee] {
				case grey:
					cycle := append(path[indexString(path, callee.name):], callee.name)
					tok := a.uses[m].names[n]
					return &SyntaxError{Name: a.t.name, Line: tok.Line, Col: tok.Col,
						Msg: fmt.Sprintf("recursive macro %q (%s)", callee.name, strings.Join(cycle, " -> "))}
				case white:
					if err := visit(callee); err != nil {
						return err
					}
				}
			}
		}
		path = path[:len(path)-1]
		color[m] = black
		return nil
	}
	for _, m := range a.macros {
		if color[m] == white {
			if err := visit(m); err != nil {
				return err
			}
		}
	}
	return nil
}

func indexString(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return 0
}

// finishData applies the whitespace control gonja's parser recorded on a
// data node (the same steps as gonja's renderer), once, at parse time, so
// that rendering writes the text as is.
func finishData(n *nodes.Data) {
	out := n.Data.Val
	if n.RemoveFirstLineReturn {
		out = strings.TrimPrefix(out, "\r\n")
		out = strings.TrimPrefix(out, "\n")
	}
	if n.Trim.Left {
		out = strings.TrimLeft(out, " \r\n\t")
	}
	if n.Trim.Right {
		out = strings.TrimRight(out, " \r\n\t")
	}
	if n.RemoveTrailingWhiteSpaceFromLastLine {
		if i := strings.LastIndexByte(out, '\n'); i >= 0 {
			out = out[:i+1] + strings.TrimRight(out[i+1:], " \n\t\r")
		} else {
			out = strings.TrimRight(out, " \n\t\r")
		}
	}
	n.Data = &tokens.Token{Type: n.Data.Type, Val: out, Pos: n.Data.Pos, Line: n.Data.Line, Col: n.Data.Col}
	n.RemoveFirstLineReturn, n.Trim, n.RemoveTrailingWhiteSpaceFromLastLine = false, nodes.Trim{}, false
}

// assignsIn reports whether a loop body assigns names in the loop's own
// scope (set, macro, import), which makes each iteration need a fresh scope.
func assignsIn(w *nodes.Wrapper) bool {
	if w == nil {
		return false
	}
	for _, n := range w.Nodes {
		block, ok := n.(*nodes.ControlStructureBlock)
		if !ok {
			continue
		}
		switch s := block.ControlStructure.(type) {
		case *setStmt, *macroStmt, *importStmt, *fromImportStmt:
			return true
		case *ifStmt:
			for _, b := range s.bodies {
				if assignsIn(b) {
					return true
				}
			}
		}
	}
	return false
}

// dependency is a template whose variables come from this template's
// context: an include or import "with context", or the parent of extends.
type dependency struct {
	target   string
	declared map[string]bool // names this template defines where it is used
	shared   *scope          // extends: the top-level scope, read after the walk
}

// VariablesWith returns Variables plus the variables of the templates this
// one includes, imports with context or extends, resolved through l,
// transitively: the variables a caller has to provide. A name the
// including template defines where it includes (a loop variable, a set) is
// not counted. Errors are the Loader's, or a *LimitError for cycles and
// nesting deeper than MaxIncludeDepth.
func (t *Template) VariablesWith(l Loader) ([]string, error) {
	vars := map[string]bool{}
	if err := t.collectVariables(l, vars, nil, []string{t.name}); err != nil {
		return nil, err
	}
	return sortedSet(vars), nil
}

func (t *Template) collectVariables(l Loader, into, hidden map[string]bool, stack []string) error {
	for _, v := range t.vars {
		if !hidden[v] {
			into[v] = true
		}
	}
	for _, d := range t.deps {
		for _, s := range stack {
			if s == d.target {
				return &LimitError{Limit: "recursion", Msg: "include cycle: " + strings.Join(append(stack, d.target), " -> ")}
			}
		}
		if len(stack) > MaxIncludeDepth {
			return &LimitError{Limit: "recursion", Msg: fmt.Sprintf("templates nested deeper than %d", MaxIncludeDepth)}
		}
		dep, err := l.Load(d.target)
		if err != nil {
			return fmt.Errorf("load %q: %w", d.target, err)
		}
		h := make(map[string]bool, len(hidden)+len(d.declared))
		for n := range hidden {
			h[n] = true
		}
		for n := range d.declared {
			h[n] = true
		}
		if err := dep.collectVariables(l, into, h, append(stack, d.target)); err != nil {
			return err
		}
	}
	return nil
}
