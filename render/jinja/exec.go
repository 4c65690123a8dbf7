package jinja

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nikolalohinski/gonja/v2/nodes"
)

// frame is one scope of variables. Frames are small and short-lived (one
// per loop iteration, macro call, with block), so names live in slices that
// are searched linearly; the render's variables use a map.
type frame struct {
	names  []string
	vals   []any
	m      map[string]any
	parent *frame
	// vars is the caller's variables (top frame only), converted into m on
	// first use so that a render pays only for the variables it reads.
	vars  map[string]any
	guard *varsGuard
	err   error // the first conversion error
}

// varsGuard keeps an abandoned render from reading the caller's variables
// after Render has returned: Render closes it before returning early.
type varsGuard struct {
	mu     sync.Mutex
	closed bool
}

func (g *varsGuard) close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}

func (f *frame) lookup(name string) (any, bool) {
	for fr := f; fr != nil; fr = fr.parent {
		for i := len(fr.names) - 1; i >= 0; i-- {
			if fr.names[i] == name {
				return fr.vals[i], true
			}
		}
		if fr.m != nil {
			if v, ok := fr.m[name]; ok {
				return v, true
			}
		}
		if fr.vars != nil {
			if v, ok := fr.loadVar(name); ok {
				return v, true
			}
		}
	}
	return nil, false
}

// loadVar copies the caller's variable name into the frame.
func (f *frame) loadVar(name string) (any, bool) {
	f.guard.mu.Lock()
	defer f.guard.mu.Unlock()
	if f.guard.closed {
		return undefined{name: name}, true // abandoned: the render is stopping
	}
	raw, ok := f.vars[name]
	if !ok {
		return nil, false
	}
	v, err := normalize(raw, 0)
	if err != nil {
		if f.err == nil {
			f.err = err
		}
		return undefined{name: name}, true
	}
	f.m[name] = v
	return v, true
}

func (f *frame) set(name string, v any) {
	for i, n := range f.names {
		if n == name {
			f.vals[i] = v
			return
		}
	}
	if f.m != nil {
		f.m[name] = v
		return
	}
	f.names = append(f.names, name)
	f.vals = append(f.vals, v)
}

func (f *frame) child() *frame { return &frame{parent: f} }

// located attaches the template name and line to errors that lack them.
func (r *renderer) located(err error, line int) error {
	var ue *UndefinedError
	var re *RenderError
	switch {
	case errors.As(err, &ue):
		if ue.Template == "" && r.tpl != nil {
			ue.Template, ue.Line = r.tpl.name, line
		}
	case errors.As(err, &re):
		if re.Template == "" && r.tpl != nil {
			re.Template, re.Line = r.tpl.name, line
		}
	}
	return err
}

func (r *renderer) execTemplate(t *Template, f *frame) error {
	savedTpl, savedCtx := r.tpl, r.ctx
	r.tpl, r.ctx = t, f
	defer func() { r.tpl, r.ctx = savedTpl, savedCtx }()
	if t.extends != "" {
		return r.execExtends(t, f)
	}
	return r.execNodes(t.root.Nodes, f)
}

func (r *renderer) execWrapper(w *nodes.Wrapper, f *frame) error {
	if w == nil {
		return nil
	}
	return r.execNodes(w.Nodes, f)
}

func (r *renderer) execNodes(list []nodes.Node, f *frame) error {
	for _, n := range list {
		switch n := n.(type) {
		case *nodes.Data:
			if err := r.write(n.Data.Val); err != nil {
				return err
			}
		case *nodes.Output:
			if err := r.execOutput(n, f); err != nil {
				return r.located(err, n.Start.Line)
			}
		case *nodes.ControlStructureBlock:
			if err := r.execStmt(n, f); err != nil {
				return r.located(err, n.Location.Line)
			}
		case *nodes.Comment, nil:
		default:
			return &RenderError{Kind: "InternalError", Msg: fmt.Sprintf("unexpected node %T", n)}
		}
	}
	return nil
}

func (r *renderer) execOutput(n *nodes.Output, f *frame) error {
	var v any
	var err error
	if n.Condition != nil {
		v, err = r.evalIf(n.Expression, n.Condition, n.Alternative, f)
	} else {
		v, err = r.eval(n.Expression, f)
	}
	if err != nil {
		return err
	}
	if s, ok := v.(string); ok && !r.escape {
		return r.write(s)
	}
	s, err := r.toOutput(v)
	if err != nil {
		return err
	}
	return r.write(s)
}

// toOutput converts a value for printing.
func (r *renderer) toOutput(v any) (string, error) {
	switch v := v.(type) {
	case string:
		if r.escape {
			return htmlEscape(v), nil
		}
		return v, nil
	case Markup:
		return string(v), nil
	case undefined:
		if r.strict(v) {
			return "", v.err()
		}
		return "", nil
	}
	s, err := r.toStr(v)
	if err != nil {
		return "", err
	}
	if r.escape {
		return htmlEscape(s), nil
	}
	return s, nil
}

// toStr is str(v), failing on undefined values under Strict.
func (r *renderer) toStr(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case undefined:
		if r.strict(v) {
			return "", v.err()
		}
		return "", nil
	}
	return str(v), nil
}

// strict reports whether using u is an error: under Options.Strict, except
// for the value of an inline if without else, which Jinja2 always makes a
// lenient Undefined.
func (r *renderer) strict(u undefined) bool { return r.opts.Strict && !u.soft }

// truth is bool(v), failing on undefined values under Strict.
func (r *renderer) truth(v any) (bool, error) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case undefined:
		if r.strict(v) {
			return false, v.err()
		}
		return false, nil
	}
	return truthy(v), nil
}

// iterate returns the items of v for a loop or a filter.
func (r *renderer) iterate(v any) ([]any, error) {
	if u, ok := v.(undefined); ok {
		if r.strict(u) {
			return nil, u.err()
		}
		return nil, nil
	}
	return items(v)
}

// execStmt runs one tag in frame f. Scopes follow Jinja2: the bodies of
// for (and its else), with, macro, call, filter, autoescape, block and the
// block form of set get a child frame, so that their assignments do not
// leak out; if does not. A block that is not scoped starts from the
// template's context instead of f.
func (r *renderer) execStmt(block *nodes.ControlStructureBlock, f *frame) error {
	switch s := block.ControlStructure.(type) {
	case *ifStmt:
		for i, c := range s.conds {
			ok, err := r.evalTruth(c, f)
			if err != nil {
				return err
			}
			if ok {
				return r.execWrapper(s.bodies[i], f)
			}
		}
		if len(s.bodies) > len(s.conds) {
			return r.execWrapper(s.bodies[len(s.conds)], f)
		}
		return nil
	case *forStmt:
		return r.execFor(s, f)
	case *setStmt:
		return r.execSet(s, f)
	case *withStmt:
		inner := f.child()
		for i, name := range s.names {
			v, err := r.eval(s.values[i], f)
			if err != nil {
				return err
			}
			inner.set(name, v)
		}
		return r.execWrapper(s.body, inner)
	case *macroStmt:
		f.set(s.name, &macro{stmt: s, closure: f, tpl: r.tpl, ctx: r.ctx})
		return nil
	case *callStmt:
		return r.execCall(s, f)
	case *filterStmt:
		return r.execFilterBlock(s, f)
	case *blockStmt:
		// A block sees the template's context, not the names around it
		// (loop variables, with, macro parameters), unless it is scoped.
		base := r.ctx
		if s.scoped || base == nil {
			base = f
		}
		chain := r.blocks[s.name]
		if len(chain) == 0 {
			chain = []*blockStmt{s}
		}
		return r.execBlock(chain, 0, base)
	case *extendsStmt:
		return nil // handled by execTemplate
	case *includeStmt:
		return r.execInclude(s, f)
	case *importStmt:
		mod, err := r.importModule(s.target, s.withContext, f)
		if err != nil {
			return err
		}
		f.set(s.alias, mod)
		return nil
	case *fromImportStmt:
		return r.execFromImport(s, block.Location.Line, f)
	case *rawStmt:
		if s.data == nil {
			return nil
		}
		return r.write(s.data.Data.Val)
	case *autoescapeStmt:
		v, err := r.eval(s.value, f)
		if err != nil {
			return err
		}
		saved := r.escape
		r.escape = truthy(v)
		err = r.execWrapper(s.body, f.child())
		r.escape = saved
		return err
	}
	return &RenderError{Kind: "InternalError", Msg: fmt.Sprintf("unsupported tag %q", block.Name)}
}

func (r *renderer) execCall(s *callStmt, f *frame) error {
	caller := &macro{stmt: s.caller, closure: f, tpl: r.tpl, ctx: r.ctx}
	v, err := r.evalCall(s.call, f, caller)
	if err != nil {
		return err
	}
	out, err := r.toOutput(v)
	if err != nil {
		return err
	}
	return r.write(out)
}

func (r *renderer) execFilterBlock(s *filterStmt, f *frame) error {
	body, err := r.capture(func() error { return r.execWrapper(s.body, f.child()) })
	if err != nil {
		return err
	}
	var v any = body
	for _, fc := range s.filters {
		if v, err = r.applyFilter(fc, v, f); err != nil {
			return err
		}
	}
	out, err := r.toOutput(v)
	if err != nil {
		return err
	}
	return r.write(out)
}

func (r *renderer) execFromImport(s *fromImportStmt, line int, f *frame) error {
	mod, err := r.importModule(s.target, s.withContext, f)
	if err != nil {
		return err
	}
	for i, name := range s.names {
		v, ok := mod.get(name)
		if !ok {
			v = undefined{name: name, hint: fmt.Sprintf("the template %s (imported on line %d) does not export the requested name %s",
				quote(s.target), line, quote(name))}
		}
		f.set(s.aliases[i], v)
	}
	return nil
}

func (r *renderer) execSet(s *setStmt, f *frame) error {
	var v any
	var err error
	if s.body != nil {
		body, err := r.capture(func() error { return r.execWrapper(s.body, f.child()) })
		if err != nil {
			return err
		}
		v = body
		if r.escape {
			v = Markup(body)
		}
		for _, fc := range s.filters {
			if v, err = r.applyFilter(fc, v, f); err != nil {
				return err
			}
		}
	} else if v, err = r.eval(s.value, f); err != nil {
		return err
	}
	if s.nsName != "" {
		target, _ := f.lookup(s.nsName)
		ns, ok := target.(*namespace)
		if !ok {
			return runtimeErrorf("cannot assign attribute on non-namespace object")
		}
		ns.attrs.Set(s.nsAttr, v)
		return nil
	}
	if len(s.targets) == 1 {
		f.set(s.targets[0], v)
		return nil
	}
	return r.unpack(s.targets, v, f)
}

// unpack assigns the items of v to names, as Python's a, b = v.
func (r *renderer) unpack(names []string, v any, f *frame) error {
	list, err := r.iterate(v)
	if err != nil {
		return err
	}
	if len(list) != len(names) {
		if len(list) < len(names) {
			return valueErrorf("not enough values to unpack (expected %d, got %d)", len(names), len(list))
		}
		return valueErrorf("too many values to unpack (expected %d)", len(names))
	}
	for i, name := range names {
		f.set(name, list[i])
	}
	return nil
}

func (r *renderer) execFor(s *forStmt, f *frame) error {
	seq, err := r.eval(s.iter, f)
	if err != nil {
		return err
	}
	return r.loop(s, seq, f, 0)
}

// loop runs a for statement over seq; depth counts recursive loop() calls.
func (r *renderer) loop(s *forStmt, seq any, f *frame, depth int) error {
	list, err := r.iterate(seq)
	if err != nil {
		return err
	}
	if d, ok := seq.(*Dict); ok {
		list = append([]any(nil), d.keys...) // the body may modify the dict
	}
	if s.cond != nil {
		kept := make([]any, 0, len(list))
		cf := f.child()
		for _, item := range list {
			if err := r.bindTargets(s.targets, item, cf); err != nil {
				return err
			}
			ok, err := r.evalTruth(s.cond, cf)
			if err != nil {
				return err
			}
			if ok {
				kept = append(kept, item)
			}
		}
		list = kept
	}
	if len(list) == 0 {
		if s.orElse != nil {
			return r.execWrapper(s.orElse, f.child())
		}
		return nil
	}
	li := &loopInfo{items: list, depth0: depth}
	if s.recursive {
		li.recurse = func(seq any) (any, error) {
			if r.calls >= MaxCallDepth {
				return nil, &LimitError{Limit: "recursion", Msg: fmt.Sprintf("recursive loop deeper than %d", MaxCallDepth)}
			}
			r.calls++
			defer func() { r.calls-- }()
			out, err := r.capture(func() error { return r.loop(s, seq, f, depth+1) })
			if err != nil {
				return nil, err
			}
			return r.markup(out), nil
		}
	}
	inner := f.child()
	for i, item := range list {
		if err := r.tick(); err != nil {
			return err
		}
		if s.assigns && i > 0 {
			inner = f.child()
		}
		li.index0 = i
		if err := r.bindTargets(s.targets, item, inner); err != nil {
			return err
		}
		inner.set("loop", li)
		if err := r.execWrapper(s.body, inner); err != nil {
			return err
		}
	}
	return nil
}

func (r *renderer) bindTargets(targets []string, item any, f *frame) error {
	if len(targets) == 1 {
		f.set(targets[0], item)
		return nil
	}
	return r.unpack(targets, item, f)
}

// markup wraps captured output the way Jinja2 does: Markup under
// autoescape, a plain string otherwise.
func (r *renderer) markup(s string) any {
	if r.escape {
		return Markup(s)
	}
	return s
}

func (r *renderer) execBlock(chain []*blockStmt, i int, f *frame) error {
	inner := f.child()
	if i+1 < len(chain) {
		inner.set("super", builtin(func(r *renderer, _ []any, _ []kwarg) (any, error) {
			out, err := r.capture(func() error { return r.execBlock(chain, i+1, f) })
			if err != nil {
				return nil, err
			}
			return r.markup(out), nil
		}))
	}
	return r.execWrapper(chain[i].body, inner)
}

// load resolves a referenced template through the Loader, enforcing the
// include depth and rejecting cycles.
func (r *renderer) load(name string) (*Template, error) {
	for i, n := range r.includes {
		if n == name {
			cycle := append(append([]string(nil), r.includes[i:]...), name)
			return nil, &LimitError{Limit: "recursion", Msg: "include cycle: " + strings.Join(cycle, " -> ")}
		}
	}
	if len(r.includes) > MaxIncludeDepth {
		return nil, &LimitError{Limit: "recursion", Msg: fmt.Sprintf("templates nested deeper than %d", MaxIncludeDepth)}
	}
	if r.opts.Loader == nil {
		return nil, &RenderError{Kind: "TemplateNotFound", Msg: fmt.Sprintf("no loader: cannot load %q", name)}
	}
	t, err := r.opts.Loader.Load(name)
	if err != nil {
		return nil, &RenderError{Kind: "TemplateNotFound", Msg: fmt.Sprintf("load %q: %v", name, err), Err: err}
	}
	if t == nil {
		return nil, &RenderError{Kind: "TemplateNotFound", Msg: fmt.Sprintf("load %q: no template", name)}
	}
	return t, nil
}

// enter pushes name on the include stack.
func (r *renderer) enter(name string) func() {
	r.includes = append(r.includes, name)
	return func() { r.includes = r.includes[:len(r.includes)-1] }
}

func (r *renderer) execInclude(s *includeStmt, f *frame) error {
	t, err := r.load(s.target)
	if err != nil {
		var re *RenderError
		if s.ignoreMissing && errors.As(err, &re) && re.Kind == "TemplateNotFound" {
			return nil
		}
		return err
	}
	defer r.enter(t.name)()
	inner := &frame{}
	if s.withContext {
		inner.parent = f
	}
	return r.execTemplate(t, inner)
}

func (r *renderer) execExtends(t *Template, f *frame) error {
	chain := []*Template{t}
	pops := 0
	defer func() {
		r.includes = r.includes[:len(r.includes)-pops]
	}()
	for cur := t; cur.extends != ""; {
		parent, err := r.load(cur.extends)
		if err != nil {
			return err
		}
		r.includes = append(r.includes, parent.name)
		pops++
		chain = append(chain, parent)
		cur = parent
	}
	blocks := map[string][]*blockStmt{}
	for _, tpl := range chain {
		for name, b := range tpl.blocks {
			blocks[name] = append(blocks[name], b)
		}
	}
	savedBlocks := r.blocks
	r.blocks = blocks
	defer func() { r.blocks = savedBlocks }()
	// The children run first, as in Jinja2: what comes before their
	// extends tag is output, after it only definitions (set, macro, import)
	// take effect.
	for _, tpl := range chain[:len(chain)-1] {
		r.tpl = tpl
		if err := r.execChildTopLevel(tpl.root.Nodes, f); err != nil {
			return err
		}
	}
	root := chain[len(chain)-1]
	r.tpl = root
	return r.execNodes(root.root.Nodes, f)
}

// execChildTopLevel runs the top level of a template that extends another.
func (r *renderer) execChildTopLevel(list []nodes.Node, f *frame) error {
	extended := false
	for i, n := range list {
		block, ok := n.(*nodes.ControlStructureBlock)
		if !extended {
			if ok {
				if _, isExtends := block.ControlStructure.(*extendsStmt); isExtends {
					extended = true
					continue
				}
			}
			if err := r.execNodes(list[i:i+1], f); err != nil {
				return err
			}
			continue
		}
		if !ok {
			continue
		}
		switch block.ControlStructure.(type) {
		case *setStmt, *macroStmt, *importStmt, *fromImportStmt:
			if _, err := r.capture(func() error { return r.execNodes(list[i:i+1], f) }); err != nil {
				return err
			}
		}
	}
	return nil
}

// module is an imported template: its top-level macros and variables.
type module struct {
	name string
	vars *frame
}

func (m *module) get(name string) (any, bool) {
	if strings.HasPrefix(name, "_") {
		return nil, false
	}
	for i, n := range m.vars.names {
		if n == name {
			return m.vars.vals[i], true
		}
	}
	return nil, false
}

func (m *module) repr() string { return fmt.Sprintf("<TemplateModule %s>", quote(m.name)) }

func (r *renderer) importModule(name string, withContext bool, f *frame) (*module, error) {
	t, err := r.load(name)
	if err != nil {
		return nil, err
	}
	defer r.enter(t.name)()
	vars := &frame{}
	inner := vars
	if withContext {
		vars.parent = f
	} else {
		vars.parent = &frame{}
	}
	if _, err := r.capture(func() error { return r.execTemplate(t, inner) }); err != nil {
		return nil, err
	}
	return &module{name: name, vars: vars}, nil
}
