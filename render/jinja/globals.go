package jinja

import (
	"fmt"
	"strings"
)

// globals are Jinja2's default global functions.
var globals = map[string]any{
	"range":     builtin(globalRange),
	"dict":      builtin(globalDict),
	"namespace": builtin(globalNamespace),
	"cycler":    builtin(globalCycler),
	"joiner":    builtin(globalJoiner),
	"lipsum":    builtin(globalLipsum),
}

// globalRange is range(), producing at most Options.MaxRange items.
func globalRange(r *renderer, args []any, kw []kwarg) (any, error) {
	if len(kw) > 0 {
		return nil, typeErrorf("range() takes no keyword arguments")
	}
	var start, stop, step int64 = 0, 0, 1
	ints := make([]int64, len(args))
	for i, a := range args {
		n, err := argInt("range", a)
		if err != nil {
			return nil, err
		}
		ints[i] = n
	}
	switch len(ints) {
	case 1:
		stop = ints[0]
	case 2:
		start, stop = ints[0], ints[1]
	case 3:
		start, stop, step = ints[0], ints[1], ints[2]
	default:
		return nil, typeErrorf("range expected at most 3 arguments, got %d", len(args))
	}
	if step == 0 {
		return nil, valueErrorf("range() arg 3 must not be zero")
	}
	var n int64
	switch {
	case step > 0 && stop > start:
		n = (stop - start + step - 1) / step
	case step < 0 && stop < start:
		n = (start - stop - step - 1) / -step
	}
	if n < 0 || n > int64(r.opts.MaxRange) {
		return nil, &LimitError{Limit: "range", Msg: fmt.Sprintf("range() of more than %d items", r.opts.MaxRange)}
	}
	out := make([]any, n)
	v := start
	for i := range out {
		if i&checkEvery == 0 {
			if err := r.tick(); err != nil {
				return nil, err
			}
		}
		out[i] = v
		v += step
	}
	return &List{Items: out}, nil
}

func globalDict(r *renderer, args []any, kw []kwarg) (any, error) {
	d := NewDict(len(kw))
	if len(args) > 1 {
		return nil, typeErrorf("dict expected at most 1 argument, got %d", len(args))
	}
	if len(args) == 1 {
		if _, err := r.dictMethod(d, "update", args, nil); err != nil {
			return nil, err
		}
	}
	for _, k := range kw {
		d.Set(k.name, k.val)
	}
	return d, nil
}

func globalNamespace(r *renderer, args []any, kw []kwarg) (any, error) {
	d, err := globalDict(r, args, kw)
	if err != nil {
		return nil, err
	}
	return &namespace{attrs: d.(*Dict)}, nil
}

// cycler is the object cycler() returns.
type cycler struct {
	items []any
	pos   int
}

func (c *cycler) repr() string { return "<Cycler>" }

func globalCycler(_ *renderer, args []any, kw []kwarg) (any, error) {
	if len(args) == 0 || len(kw) > 0 {
		return nil, typeErrorf("at least one item has to be provided")
	}
	return &cycler{items: append([]any(nil), args...)}, nil
}

func (c *cycler) method(name string, args []any, kw []kwarg) (any, error) {
	if len(args) > 0 || len(kw) > 0 {
		return nil, typeErrorf("%s() takes no arguments", name)
	}
	switch name {
	case "next":
		v := c.items[c.pos]
		c.pos = (c.pos + 1) % len(c.items)
		return v, nil
	case "reset":
		c.pos = 0
		return nil, nil
	}
	return nil, typeErrorf("'Cycler' object has no attribute '%s'", name)
}

func (c *cycler) attr(name string) (any, bool) {
	if name == "current" {
		return c.items[c.pos], true
	}
	return nil, false
}

func globalJoiner(_ *renderer, args []any, kw []kwarg) (any, error) {
	sep := any(", ")
	if len(args) > 0 {
		sep = args[0]
	}
	for _, k := range kw {
		if k.name == "sep" {
			sep = k.val
		}
	}
	used := false
	return builtin(func(_ *renderer, _ []any, _ []kwarg) (any, error) {
		if !used {
			used = true
			return "", nil
		}
		return sep, nil
	}), nil
}

var lipsumWords = strings.Fields(`lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod
tempor incididunt ut labore et dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation
ullamco laboris nisi ut aliquip ex ea commodo consequat duis aute irure dolor in reprehenderit in
voluptate velit esse cillum dolore eu fugiat nulla pariatur excepteur sint occaecat cupidatat non
proident sunt in culpa qui officia deserunt mollit anim id est laborum`)

var specLipsum = newSpec("lipsum", "n", int64(5), "html", true, "min", int64(20), "max", int64(100))

// globalLipsum is lipsum(), deterministic (Jinja2's is random).
func globalLipsum(r *renderer, args []any, kw []kwarg) (any, error) {
	a, err := specLipsum.bind(args, kw)
	if err != nil {
		return nil, err
	}
	n, err := argInt("lipsum", a[0])
	if err != nil {
		return nil, err
	}
	lo, err := argInt("lipsum", a[2])
	if err != nil {
		return nil, err
	}
	hi, err := argInt("lipsum", a[3])
	if err != nil {
		return nil, err
	}
	if n < 0 || n > 100 || lo < 1 || hi < lo || hi > 1000 {
		return nil, valueErrorf("lipsum() arguments out of range")
	}
	var paras []string
	w := 0
	for p := range n {
		words := int(lo + (int64(p)*7919)%(hi-lo+1))
		var b strings.Builder
		for i := range words {
			word := lipsumWords[w%len(lipsumWords)]
			w++
			if i == 0 {
				word = capitalize(word)
			}
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(word)
		}
		b.WriteByte('.')
		paras = append(paras, b.String())
	}
	if truthy(a[1]) {
		return Markup("<p>" + strings.Join(paras, "</p>\n<p>") + "</p>"), nil
	}
	return strings.Join(paras, "\n\n"), nil
}

// groupTuple is an item of the groupby filter: (grouper, list).
type groupTuple struct {
	grouper any
	list    *List
}

func (g *groupTuple) items() []any { return []any{g.grouper, g.list} }
