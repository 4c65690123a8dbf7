package jinja

import (
	"fmt"
	"math/big"
	"sort"
	"unicode/utf8"

	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// kwarg is one keyword argument of a call.
type kwarg struct {
	name string
	val  any
}

// builtin is a function implemented in Go: a global, a bound method, super.
type builtin func(r *renderer, args []any, kw []kwarg) (any, error)

// boundMethod is obj.name before the call, e.g. passed to a filter.
type boundMethod struct {
	recv any
	name string
}

func (b *boundMethod) repr() string {
	return fmt.Sprintf("<built-in method %s of %s object>", b.name, typeName(b.recv))
}

// macro is a {% macro %} (or a {% call %} body) bound to the scope it was
// defined in.
type macro struct {
	stmt    *macroStmt
	closure *frame
	tpl     *Template
	ctx     *frame // the context of tpl, for the blocks in the body
}

func (m *macro) repr() string {
	if m.stmt.anonymous {
		return "<Macro anonymous>"
	}
	return fmt.Sprintf("<Macro %s>", quote(m.stmt.name))
}

// attr returns the attributes of Jinja2's Macro object.
func (m *macro) attr(name string) (any, bool) {
	s := m.stmt
	switch name {
	case "name":
		if s.anonymous {
			return nil, true
		}
		return s.name, true
	case "arguments":
		args := make(Tuple, len(s.params))
		for i, p := range s.params {
			args[i] = p
		}
		return args, true
	case "catch_kwargs":
		return s.usesKwargs, true
	case "catch_varargs":
		return s.usesVarargs, true
	case "caller":
		return s.usesCaller, true
	}
	return nil, false
}

// namespace is the object namespace() returns: attributes can be assigned
// with {% set ns.attr = value %}.
type namespace struct {
	attrs *Dict
}

func (n *namespace) repr() string {
	var b []byte
	b = append(b, "<Namespace {"...)
	for i, k := range n.attrs.keys {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, repr(k)...)
		b = append(b, ": "...)
		b = append(b, repr(n.attrs.vals[i])...)
	}
	return string(append(b, "}>"...))
}

// loopInfo is the loop variable of a for statement.
type loopInfo struct {
	items    []any
	index0   int
	depth0   int
	recurse  func(seq any) (any, error)
	lastSeen any
	seen     bool
}

func (l *loopInfo) repr() string {
	return fmt.Sprintf("<LoopContext %d/%d>", l.index0+1, len(l.items))
}

func (l *loopInfo) attr(name string) (any, bool) {
	n := len(l.items)
	switch name {
	case "index":
		return int64(l.index0 + 1), true
	case "index0":
		return int64(l.index0), true
	case "revindex":
		return int64(n - l.index0), true
	case "revindex0":
		return int64(n - l.index0 - 1), true
	case "first":
		return l.index0 == 0, true
	case "last":
		return l.index0 == n-1, true
	case "length":
		return int64(n), true
	case "depth":
		return int64(l.depth0 + 1), true
	case "depth0":
		return int64(l.depth0), true
	case "previtem":
		if l.index0 == 0 {
			return undefined{hint: "there is no previous item", name: "previtem"}, true
		}
		return l.items[l.index0-1], true
	case "nextitem":
		if l.index0 >= n-1 {
			return undefined{hint: "there is no next item", name: "nextitem"}, true
		}
		return l.items[l.index0+1], true
	case "cycle", "changed":
		return &boundMethod{recv: l, name: name}, true
	}
	return nil, false
}

func (r *renderer) lookup(name string, f *frame) any {
	if v, ok := f.lookup(name); ok {
		return v
	}
	switch name {
	case "none", "None":
		return nil
	case "true", "True":
		return true
	case "false", "False":
		return false
	}
	if g, ok := globals[name]; ok {
		return g
	}
	return undefined{name: name}
}

func (r *renderer) eval(e nodes.Node, f *frame) (any, error) {
	switch n := e.(type) {
	case *nodes.Name:
		return r.lookup(n.Name.Val, f), nil
	case *nodes.String:
		return n.Val, nil
	case *nodes.Integer:
		return int64(n.Val), nil
	case *nodes.Float:
		return n.Val, nil
	case *nodes.Bool:
		return n.Val, nil
	case *nodes.None:
		return nil, nil
	case *nodes.GetAttribute:
		obj, err := r.eval(n.Node, f)
		if err != nil {
			return nil, err
		}
		if n.Attribute == "" {
			return r.getItem(obj, int64(n.Index))
		}
		return r.getAttr(obj, n.Attribute)
	case *nodes.GetItem:
		obj, err := r.eval(n.Node, f)
		if err != nil {
			return nil, err
		}
		if n.Arg == nil {
			return nil, &RenderError{Kind: "TemplateSyntaxError", Msg: "expected an expression in []"}
		}
		key, err := r.eval(n.Arg, f)
		if err != nil {
			return nil, err
		}
		return r.getItem(obj, key)
	case *nodes.GetSlice:
		return r.evalSlice(n, f)
	case *nodes.Call:
		return r.evalCall(n, f, nil)
	case *nodes.FilteredExpression:
		v, err := r.eval(n.Expression, f)
		if err != nil {
			return nil, err
		}
		for _, fc := range n.Filters {
			if v, err = r.applyFilter(fc, v, f); err != nil {
				return nil, err
			}
		}
		return v, nil
	case *nodes.TestExpression:
		return r.evalTest(n, f)
	case *nodes.BinaryExpression:
		return r.evalBinary(n, f)
	case *nodes.UnaryExpression:
		v, err := r.eval(n.Term, f)
		if err != nil {
			return nil, err
		}
		if n.Negative {
			return negate(v)
		}
		return positive(v)
	case *nodes.Negation:
		b, err := r.evalTruth(n.Term, f)
		if err != nil {
			return nil, err
		}
		return !b, nil
	case *nodes.List:
		out := make([]any, len(n.Val))
		for i, x := range n.Val {
			v, err := r.eval(x, f)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		if err := r.grow(len(out)); err != nil {
			return nil, err
		}
		return &List{Items: out}, nil
	case *nodes.Tuple:
		out := make(Tuple, len(n.Val))
		for i, x := range n.Val {
			v, err := r.eval(x, f)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case *nodes.Dict:
		d := NewDict(len(n.Pairs))
		for _, p := range n.Pairs {
			k, err := r.eval(p.Key, f)
			if err != nil {
				return nil, err
			}
			if err := hashable(k); err != nil {
				return nil, err
			}
			v, err := r.eval(p.Value, f)
			if err != nil {
				return nil, err
			}
			d.Set(k, v)
		}
		return d, nil
	case *condExpr:
		return r.evalIf(n.expr, n.cond, n.alt, f)
	case *nodes.Error:
		return nil, &RenderError{Kind: "TemplateSyntaxError", Msg: n.Error.Error()}
	case nil:
		return nil, &RenderError{Kind: "TemplateSyntaxError", Msg: "missing expression"}
	}
	return nil, &RenderError{Kind: "InternalError", Msg: fmt.Sprintf("unsupported expression %T", e)}
}

func hashable(k any) error {
	switch k.(type) {
	case *List, *Dict, undefined:
		return typeErrorf("unhashable type: '%s'", typeName(k))
	}
	return nil
}

// getAttr is obj.name: the attribute, else the item (Jinja2's getattr).
func (r *renderer) getAttr(obj any, name string) (any, error) {
	switch o := obj.(type) {
	case *Dict:
		if v, ok := o.Get(name); ok {
			if !dictMethods[name] {
				return v, nil
			}
		}
		if dictMethods[name] {
			return &boundMethod{recv: o, name: name}, nil
		}
		return undefined{obj: o, name: name, kind: undefAttrKind}, nil
	case undefined:
		return nil, o.err()
	case *loopInfo:
		if v, ok := o.attr(name); ok {
			return v, nil
		}
	case *namespace:
		if v, ok := o.attrs.Get(name); ok {
			return v, nil
		}
	case *module:
		if v, ok := o.get(name); ok {
			return v, nil
		}
	case *cycler:
		if v, ok := o.attr(name); ok {
			return v, nil
		}
	case *groupTuple:
		switch name {
		case "grouper":
			return o.grouper, nil
		case "list":
			return o.list, nil
		}
	case *macro:
		if v, ok := o.attr(name); ok {
			return v, nil
		}
	case string:
		if r.strMethods[name] != nil {
			return &boundMethod{recv: o, name: name}, nil
		}
	case Markup:
		if r.strMethods[name] != nil {
			return &boundMethod{recv: o, name: name}, nil
		}
	case *List:
		if listMethods[name] {
			return &boundMethod{recv: o, name: name}, nil
		}
	case Tuple:
		if tupleMethods[name] {
			return &boundMethod{recv: o, name: name}, nil
		}
	case int64, float64, bool, *big.Int:
		switch name {
		case "real":
			return o, nil
		case "imag":
			return int64(0), nil
		case "is_integer", "bit_length", "conjugate":
			return &boundMethod{recv: o, name: name}, nil
		}
	}
	return undefined{obj: obj, name: name, kind: undefAttrKind}, nil
}

// getItem is obj[key]: the item, else the attribute (Jinja2's getitem).
func (r *renderer) getItem(obj, key any) (any, error) {
	switch o := obj.(type) {
	case *Dict:
		if v, ok := o.Get(key); ok {
			return v, nil
		}
	case *List:
		if i, ok := indexOf(key, len(o.Items)); ok {
			return o.Items[i], nil
		}
	case Tuple:
		if i, ok := indexOf(key, len(o)); ok {
			return o[i], nil
		}
	case string:
		if _, isInt := key.(int64); isInt {
			return charAt(o, key)
		}
	case Markup:
		if _, isInt := key.(int64); isInt {
			return charAt(string(o), key)
		}
	case undefined:
		return nil, o.err()
	}
	if name, ok := key.(string); ok {
		if _, isDict := obj.(*Dict); !isDict {
			return r.getAttr(obj, name)
		}
	}
	return undefined{obj: obj, key: key, name: str(key), kind: undefItemKind}, nil
}

func charAt(s string, key any) (any, error) {
	n := utf8.RuneCountInString(s)
	i, ok := indexOf(key, n)
	if !ok {
		return undefined{obj: s, key: key, name: str(key), kind: undefItemKind}, nil
	}
	if n == len(s) {
		return s[i : i+1], nil
	}
	for j := range s {
		if i == 0 {
			_, size := utf8.DecodeRuneInString(s[j:])
			return s[j : j+size], nil
		}
		i--
	}
	return "", nil
}

// indexOf resolves a Python index (negative from the end) into [0, n).
func indexOf(key any, n int) (int, bool) {
	var i int64
	switch k := key.(type) {
	case int64:
		i = k
	case bool:
		i = boolInt(k)
	default:
		return 0, false
	}
	if i < 0 {
		i += int64(n)
	}
	if i < 0 || i >= int64(n) {
		return 0, false
	}
	return int(i), true
}

func (r *renderer) evalSlice(n *nodes.GetSlice, f *frame) (any, error) {
	obj, err := r.eval(n.Node, f)
	if err != nil {
		return nil, err
	}
	var bounds [3]any
	for i, e := range []nodes.Node{n.Start, n.End, n.Step} {
		if e == nil {
			continue
		}
		if bounds[i], err = r.eval(e, f); err != nil {
			return nil, err
		}
	}
	return sliceValue(obj, bounds[0], bounds[1], bounds[2])
}

func sliceIndex(v any) (int64, bool, error) {
	switch v := v.(type) {
	case nil:
		return 0, false, nil
	case int64:
		return v, true, nil
	case bool:
		return boolInt(v), true, nil
	case undefined:
		return 0, false, v.err()
	}
	return 0, false, typeErrorf("slice indices must be integers or None")
}

// sliceValue is Python's obj[start:stop:step].
func sliceValue(obj, startV, stopV, stepV any) (any, error) {
	var seq []any
	var runes []rune
	switch o := obj.(type) {
	case *List:
		seq = o.Items
	case Tuple:
		seq = o
	case string:
		runes = []rune(o)
	case Markup:
		runes = []rune(string(o))
	case undefined:
		return nil, o.err()
	default:
		return nil, typeErrorf("'%s' object is not subscriptable", typeName(obj))
	}
	n := int64(len(seq))
	if runes != nil || seq == nil {
		n = int64(len(runes))
	}
	step, hasStep, err := sliceIndex(stepV)
	if err != nil {
		return nil, err
	}
	if !hasStep {
		step = 1
	}
	if step == 0 {
		return nil, valueErrorf("slice step cannot be zero")
	}
	start, hasStart, err := sliceIndex(startV)
	if err != nil {
		return nil, err
	}
	stop, hasStop, err := sliceIndex(stopV)
	if err != nil {
		return nil, err
	}
	clamp := func(i int64, has bool, def int64) int64 {
		if !has {
			return def
		}
		if i < 0 {
			i += n
			if i < 0 {
				if step < 0 {
					return -1
				}
				return 0
			}
		}
		if i >= n {
			if step < 0 {
				return n - 1
			}
			return n
		}
		return i
	}
	if step > 0 {
		start, stop = clamp(start, hasStart, 0), clamp(stop, hasStop, n)
	} else {
		start, stop = clamp(start, hasStart, n-1), clamp(stop, hasStop, -1)
	}
	var idx []int64
	if step == 1 && start <= stop {
		switch o := obj.(type) {
		case *List:
			return &List{Items: append([]any(nil), o.Items[start:stop]...)}, nil
		case Tuple:
			return append(Tuple(nil), o[start:stop]...), nil
		}
	}
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		idx = append(idx, i)
	}
	switch obj.(type) {
	case *List, Tuple:
		out := make([]any, len(idx))
		for j, i := range idx {
			out[j] = seq[i]
		}
		if _, ok := obj.(Tuple); ok {
			return Tuple(out), nil
		}
		return &List{Items: out}, nil
	}
	out := make([]rune, len(idx))
	for j, i := range idx {
		out[j] = runes[i]
	}
	if _, ok := obj.(Markup); ok {
		return Markup(string(out)), nil
	}
	return string(out), nil
}

// evalArgs evaluates the arguments of a call or filter.
func (r *renderer) evalArgs(args []nodes.Expression, kwargs map[string]nodes.Expression, f *frame) ([]any, []kwarg, error) {
	var pos []any
	if len(args) > 0 {
		pos = make([]any, len(args))
		for i, a := range args {
			v, err := r.eval(a, f)
			if err != nil {
				return nil, nil, err
			}
			pos[i] = v
		}
	}
	if len(kwargs) == 0 {
		return pos, nil, nil
	}
	kw := make([]kwarg, 0, len(kwargs))
	for name, e := range kwargs {
		v, err := r.eval(e, f)
		if err != nil {
			return nil, nil, err
		}
		kw = append(kw, kwarg{name: name, val: v})
	}
	if len(kw) > 1 {
		sort.Slice(kw, func(i, j int) bool {
			return kwargs[kw[i].name].Position().Pos < kwargs[kw[j].name].Position().Pos
		})
	}
	return pos, kw, nil
}

func (r *renderer) evalCall(n *nodes.Call, f *frame, caller *macro) (any, error) {
	if err := r.tick(); err != nil {
		return nil, err
	}
	if name, ok := n.Func.(*nodes.Name); ok {
		switch name.Name.Val {
		case condFunc:
			return r.evalCond(n, f)
		case chainFunc:
			return r.evalChain(n, f)
		}
	}
	var recv any
	var method string
	var fn any
	var err error
	if ga, ok := n.Func.(*nodes.GetAttribute); ok && ga.Attribute != "" {
		if recv, err = r.eval(ga.Node, f); err != nil {
			return nil, err
		}
		if r.hasMethod(recv, ga.Attribute) {
			method = ga.Attribute
		} else if fn, err = r.getAttr(recv, ga.Attribute); err != nil {
			return nil, err
		}
	} else if fn, err = r.eval(n.Func, f); err != nil {
		return nil, err
	}
	args, kw, err := r.evalArgs(n.Args, n.Kwargs, f)
	if err != nil {
		return nil, err
	}
	if caller != nil {
		kw = append(kw, kwarg{name: "caller", val: caller})
	}
	if method != "" {
		return r.callMethod(recv, method, args, kw)
	}
	return r.call(fn, args, kw)
}

// evalCond evaluates condFunc(a, b[, c]), the rewritten "a if b else c":
// only the branch taken is evaluated.
func (r *renderer) evalCond(n *nodes.Call, f *frame) (any, error) {
	if len(n.Args) < 2 || len(n.Args) > 3 || len(n.Kwargs) > 0 {
		return nil, &RenderError{Kind: "TemplateSyntaxError", Msg: "malformed conditional expression"}
	}
	var alt nodes.Node
	if len(n.Args) == 3 {
		alt = n.Args[2]
	}
	return r.evalIf(n.Args[0], n.Args[1], alt, f)
}

// evalIf is the inline "expr if cond else alt": only the branch taken is
// evaluated, and a false cond without alt (nil) gives a soft undefined.
func (r *renderer) evalIf(expr, cond, alt nodes.Node, f *frame) (any, error) {
	ok, err := r.evalTruth(cond, f)
	switch {
	case err != nil:
		return nil, err
	case ok:
		return r.eval(expr, f)
	case alt != nil:
		return r.eval(alt, f)
	}
	return undefined{soft: true, hint: "the inline if-expression evaluated to false and no else section was defined."}, nil
}

// evalTruth evaluates a condition.
func (r *renderer) evalTruth(e nodes.Node, f *frame) (bool, error) {
	v, err := r.eval(e, f)
	if err != nil {
		return false, err
	}
	return r.truth(v)
}

// chainOps maps the operators of a rewritten comparison chain.
var chainOps = map[string]tokens.Type{
	"==": tokens.Equals, "!=": tokens.Ne, "<": tokens.LowerThan, "<=": tokens.LowerThanOrEqual,
	">": tokens.GreaterThan, ">=": tokens.GreaterThanOrEqual,
}

// evalChain evaluates chainFunc(a, op, b, op, c…), the rewritten
// "a op b op c": each operand once, stopping at the first false link.
func (r *renderer) evalChain(n *nodes.Call, f *frame) (any, error) {
	if len(n.Args) < 3 || len(n.Args)%2 == 0 {
		return nil, &RenderError{Kind: "TemplateSyntaxError", Msg: "malformed comparison"}
	}
	left, err := r.eval(n.Args[0], f)
	if err != nil {
		return nil, err
	}
	for i := 1; i < len(n.Args); i += 2 {
		opNode, _ := n.Args[i].(*nodes.String)
		if opNode == nil || chainOps[opNode.Val] == 0 {
			return nil, &RenderError{Kind: "TemplateSyntaxError", Msg: "malformed comparison"}
		}
		right, err := r.eval(n.Args[i+1], f)
		if err != nil {
			return nil, err
		}
		ok, err := r.binop(chainOps[opNode.Val], left, right)
		if err != nil {
			return nil, err
		}
		if ok != true {
			return false, nil
		}
		left = right
	}
	return true, nil
}

func (r *renderer) call(fn any, args []any, kw []kwarg) (any, error) {
	switch c := fn.(type) {
	case *macro:
		return r.callMacro(c, args, kw)
	case builtin:
		return c(r, args, kw)
	case *boundMethod:
		return r.callMethod(c.recv, c.name, args, kw)
	case *loopInfo:
		if c.recurse == nil {
			return nil, typeErrorf("Tried to call non recursive loop.  Maybe you forgot the 'recursive' modifier.")
		}
		if len(args) != 1 || len(kw) != 0 {
			return nil, typeErrorf("loop() takes exactly one argument")
		}
		return c.recurse(args[0])
	case undefined:
		return nil, c.err()
	}
	return nil, typeErrorf("'%s' object is not callable", typeName(fn))
}

func (r *renderer) callMacro(m *macro, args []any, kw []kwarg) (any, error) {
	s := m.stmt
	if r.calls >= MaxCallDepth {
		return nil, &LimitError{Limit: "recursion", Msg: fmt.Sprintf("macro calls nested deeper than %d", MaxCallDepth)}
	}
	if len(args) > len(s.params) && !s.usesVarargs {
		return nil, typeErrorf("macro '%s' takes not more than %d argument(s)", s.name, len(s.params))
	}
	fr := &frame{parent: m.closure, names: make([]string, 0, len(s.params)+2), vals: make([]any, 0, len(s.params)+2)}
	for i := 0; i < len(args) && i < len(s.params); i++ {
		fr.set(s.params[i], args[i])
	}
	var extra *Dict
	var caller any
	for _, k := range kw {
		if k.name == "caller" {
			caller = k.val
			continue
		}
		idx := -1
		for i, p := range s.params {
			if p == k.name {
				idx = i
				break
			}
		}
		switch {
		case idx >= 0 && idx < len(args):
			return nil, typeErrorf("macro '%s' got multiple values for argument '%s'", s.name, k.name)
		case idx >= 0:
			fr.set(k.name, k.val)
		case s.usesKwargs:
			if extra == nil {
				extra = NewDict(len(kw))
			}
			extra.Set(k.name, k.val)
		default:
			return nil, typeErrorf("macro '%s' takes no keyword argument '%s'", s.name, k.name)
		}
	}
	for i := len(args); i < len(s.params); i++ {
		p := s.params[i]
		if declaredIn(fr, p) {
			continue
		}
		if s.defaults[i] != nil {
			v, err := r.eval(s.defaults[i], fr)
			if err != nil {
				return nil, err
			}
			fr.set(p, v)
		} else {
			fr.set(p, undefined{name: p, hint: fmt.Sprintf("parameter '%s' was not provided", p)})
		}
	}
	if s.usesVarargs {
		var rest Tuple
		if len(args) > len(s.params) {
			rest = append(Tuple{}, args[len(s.params):]...)
		} else {
			rest = Tuple{}
		}
		fr.set("varargs", rest)
	}
	if s.usesKwargs {
		if extra == nil {
			extra = NewDict(0)
		}
		fr.set("kwargs", extra)
	}
	if caller != nil {
		fr.set("caller", caller)
	} else if s.usesCaller {
		fr.set("caller", undefined{name: "caller", hint: "'caller' is undefined"})
	}
	r.calls++
	savedTpl, savedCtx := r.tpl, r.ctx
	r.tpl, r.ctx = m.tpl, m.ctx
	out, err := r.capture(func() error { return r.execWrapper(s.body, fr) })
	r.tpl, r.ctx = savedTpl, savedCtx
	r.calls--
	if err != nil {
		return nil, err
	}
	return r.markup(out), nil
}

func declaredIn(f *frame, name string) bool {
	for _, n := range f.names {
		if n == name {
			return true
		}
	}
	return false
}

func (r *renderer) applyFilter(fc *nodes.FilterCall, v any, f *frame) (any, error) {
	if fc.Name == callFunc { // the rewritten x|f(a)(b): call the filter's result
		if err := r.tick(); err != nil {
			return nil, err
		}
		args, kw, err := r.evalArgs(fc.Args, fc.Kwargs, f)
		if err != nil {
			return nil, err
		}
		return r.call(v, args, kw)
	}
	fn := r.filters[fc.Name]
	if fn == nil {
		return nil, &RenderError{Kind: "TemplateAssertionError", Msg: fmt.Sprintf("No filter named '%s'.", fc.Name)}
	}
	args, kw, err := r.evalArgs(fc.Args, fc.Kwargs, f)
	if err != nil {
		return nil, err
	}
	return fn(r, v, args, kw)
}

func (r *renderer) evalTest(n *nodes.TestExpression, f *frame) (any, error) {
	v, err := r.eval(n.Expression, f)
	if err != nil {
		return nil, err
	}
	fn := r.tests[n.Test.Name]
	if fn == nil {
		return nil, &RenderError{Kind: "TemplateAssertionError", Msg: fmt.Sprintf("No test named '%s'.", n.Test.Name)}
	}
	args, kw, err := r.evalArgs(n.Test.Args, n.Test.Kwargs, f)
	if err != nil {
		return nil, err
	}
	ok, err := fn(r, v, args, kw)
	return ok, err
}

func (r *renderer) evalBinary(n *nodes.BinaryExpression, f *frame) (any, error) {
	left, err := r.eval(n.Left, f)
	if err != nil {
		return nil, err
	}
	op := n.Operator.Token.Type
	switch op {
	case tokens.And, tokens.Or:
		ok, err := r.truth(left)
		if err != nil {
			return nil, err
		}
		if ok == (op == tokens.Or) {
			return left, nil
		}
		return r.eval(n.Right, f)
	}
	right, err := r.eval(n.Right, f)
	if err != nil {
		return nil, err
	}
	return r.binop(op, left, right)
}
