package jinja

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// filterFunc is a built-in filter: v | name(args, kw).
type filterFunc func(r *renderer, v any, args []any, kw []kwarg) (any, error)

// filters are Jinja2's built-in filters with Jinja2 3.1's semantics.
var filters = map[string]filterFunc{
	"abs":            unary("abs", filterAbs),
	"attr":           filterAttr,
	"batch":          filterBatch,
	"capitalize":     strFilter("capitalize", capitalize),
	"center":         filterCenter,
	"count":          unary("length", filterLength),
	"d":              filterDefault,
	"default":        filterDefault,
	"dictsort":       filterDictsort,
	"e":              filterEscape,
	"escape":         filterEscape,
	"filesizeformat": filterFilesizeformat,
	"first":          endItem("first", false),
	"float":          filterFloat,
	"forceescape":    filterForceescape,
	"format":         filterFormat,
	"groupby":        filterGroupby,
	"indent":         filterIndent,
	"int":            filterInt,
	"items":          unary("items", filterItems),
	"join":           filterJoin,
	"last":           endItem("last", true),
	"length":         unary("length", filterLength),
	"list":           unary("list", filterList),
	"lower":          strFilter("lower", lower),
	"map":            filterMap,
	"max":            minMax("max", 1),
	"min":            minMax("min", -1),
	"pprint":         unary("pprint", filterPprint),
	"random":         filterRandom,
	"reject":         selectFilter("reject", false, false),
	"rejectattr":     selectFilter("rejectattr", false, true),
	"replace":        filterReplace,
	"reverse":        unary("reverse", filterReverse),
	"round":          filterRound,
	"safe":           unaryStr("safe", markSafe),
	"select":         selectFilter("select", true, false),
	"selectattr":     selectFilter("selectattr", true, true),
	"slice":          filterSlice,
	"sort":           filterSort,
	"string":         unary("string", filterString),
	"striptags":      unaryStr("striptags", striptags),
	"sum":            filterSum,
	"title":          strFilter("title", jinjaTitle),
	"tojson":         filterTojson,
	"trim":           filterTrim,
	"truncate":       filterTruncate,
	"unique":         filterUnique,
	"upper":          strFilter("upper", upper),
	"urlencode":      unary("urlencode", filterUrlencode),
	"urlize":         filterUrlize,
	"wordcount":      unaryStr("wordcount", wordcount),
	"wordwrap":       filterWordwrap,
	"xmlattr":        filterXmlattr,
}

// unary is a filter that takes no arguments besides the value it filters.
func unary(name string, fn func(r *renderer, v any) (any, error)) filterFunc {
	return func(r *renderer, v any, args []any, kw []kwarg) (any, error) {
		if len(args) > 0 || len(kw) > 0 {
			return nil, typeErrorf("%s() takes exactly one argument", name)
		}
		return fn(r, v)
	}
}

// unaryStr is a unary filter that returns fn(str(v)).
func unaryStr[T any](name string, fn func(string) T) filterFunc {
	return unary(name, func(r *renderer, v any) (any, error) {
		s, err := r.toStr(v)
		if err != nil {
			return nil, err
		}
		return fn(s), nil
	})
}

// strFilter is a filter that applies fn to str(v), keeping Markup.
func strFilter(name string, fn func(string) string) filterFunc {
	return func(r *renderer, v any, args []any, kw []kwarg) (any, error) {
		if len(args) > 0 || len(kw) > 0 {
			return nil, typeErrorf("%s() takes 1 positional argument but %d were given", name, 1+len(args)+len(kw))
		}
		if m, ok := v.(Markup); ok {
			return Markup(fn(string(m))), nil
		}
		s, err := r.toStr(v)
		if err != nil {
			return nil, err
		}
		return fn(s), nil
	}
}

func filterAbs(_ *renderer, v any) (any, error) {
	switch n := v.(type) {
	case int64:
		if n < 0 {
			return negate(n)
		}
		return n, nil
	case bool:
		return boolInt(n), nil
	case float64:
		return math.Abs(n), nil
	case *big.Int:
		return new(big.Int).Abs(n), nil
	case undefined:
		return nil, n.err()
	}
	return nil, typeErrorf("bad operand type for abs(): '%s'", typeName(v))
}

var specAttr = newSpec("attr", "name", required)

func filterAttr(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specAttr.bind(args, kw)
	if err != nil {
		return nil, err
	}
	name, err := argStr("attr", a[0])
	if err != nil {
		return nil, err
	}
	if _, isDict := v.(*Dict); isDict && !dictMethods[name] {
		return undefined{obj: v, name: name, kind: undefAttrKind}, nil
	}
	return r.getAttr(v, name)
}

var specBatch = newSpec("batch", "linecount", required, "fill_with", nil)

func filterBatch(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specBatch.bind(args, kw)
	if err != nil {
		return nil, err
	}
	n, err := argInt("batch", a[0])
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, valueErrorf("batch size must be positive")
	}
	list, err := r.iterate(v)
	if err != nil {
		return nil, err
	}
	var out []any
	for i := 0; i < len(list); i += int(n) {
		end := min(i+int(n), len(list))
		row := append([]any(nil), list[i:end]...)
		if hasFill := len(args) > 1 || len(kw) > 0; hasFill && len(row) < int(n) {
			for len(row) < int(n) {
				row = append(row, a[1])
			}
		}
		out = append(out, &List{Items: row})
	}
	if err := r.grow(len(list) + len(out)); err != nil {
		return nil, err
	}
	return &List{Items: nonNil(out)}, nil
}

func nonNil(s []any) []any {
	if s == nil {
		return []any{}
	}
	return s
}

var specCenter = newSpec("center", "width", int64(80))

func filterCenter(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specCenter.bind(args, kw)
	if err != nil {
		return nil, err
	}
	width, err := argInt("center", a[0])
	if err != nil {
		return nil, err
	}
	s, err := r.toStr(v)
	if err != nil {
		return nil, err
	}
	return r.pad(s, width, " ", 0)
}

func filterLength(r *renderer, v any) (any, error) {
	if u, ok := v.(undefined); ok && r.strict(u) {
		return nil, u.err()
	}
	n, err := length(v)
	return int64(n), err
}

var specDefault = newSpec("default", "default_value", "", "boolean", false)

func filterDefault(_ *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specDefault.bind(args, kw)
	if err != nil {
		return nil, err
	}
	if _, ok := v.(undefined); ok || (truthy(a[1]) && !truthy(v)) {
		return a[0], nil
	}
	return v, nil
}

var specDictsort = newSpec("dictsort", "case_sensitive", false, "by", "key", "reverse", false)

func filterDictsort(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specDictsort.bind(args, kw)
	if err != nil {
		return nil, err
	}
	pairs, err := r.pairs(v, "dictsort")
	if err != nil {
		return nil, err
	}
	pos := 0
	switch a[1] {
	case "key":
	case "value":
		pos = 1
	default:
		return nil, &RenderError{Kind: "FilterArgumentError", Msg: "You can only sort by either 'key' or 'value'"}
	}
	sorted, err := sortValues(pairs, truthy(a[2]), truthy(a[0]), func(p any) (any, error) { return p.(Tuple)[pos], nil })
	if err != nil {
		return nil, err
	}
	return &List{Items: sorted}, nil
}

// pairs returns the (key, value) tuples of a mapping in insertion order.
func (r *renderer) pairs(v any, fname string) ([]any, error) {
	switch d := v.(type) {
	case *Dict:
		out := make([]any, d.Len())
		for i, k := range d.keys {
			out[i] = Tuple{k, d.vals[i]}
		}
		return out, nil
	case *namespace:
		return r.pairs(d.attrs, fname)
	case undefined:
		if r.strict(d) {
			return nil, d.err()
		}
		return []any{}, nil
	}
	if fname == "items" {
		return nil, typeErrorf("Can only get item pairs from a mapping.")
	}
	return nil, &RenderError{Kind: "FilterArgumentError", Msg: fname + " requires a mapping"}
}

func filterEscape(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	if m, ok := v.(Markup); ok {
		return m, nil
	}
	return filterForceescape(r, v, args, kw)
}

// filterForceescape escapes even Markup. escape hands it everything but
// Markup, hence the escape() in its argument error.
var filterForceescape = unaryStr("escape", func(s string) Markup { return Markup(htmlEscape(s)) })

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;")

func htmlEscape(s string) string {
	if !strings.ContainsAny(s, `&<>"'`) {
		return s
	}
	return htmlEscaper.Replace(s)
}

var specFilesize = newSpec("filesizeformat", "binary", false)

func filterFilesizeformat(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specFilesize.bind(args, kw)
	if err != nil {
		return nil, err
	}
	f, err := toNumber(v)
	if err != nil {
		return nil, err
	}
	bytes := toFloat(f)
	base := 1000.0
	prefixes := []string{"kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"}
	if truthy(a[0]) {
		base = 1024
		prefixes = []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"}
	}
	switch {
	case bytes == 1:
		return "1 Byte", nil
	case bytes < base:
		return fmt.Sprintf("%d Bytes", int64(bytes)), nil
	}
	unit := base
	for i, p := range prefixes {
		unit = math.Pow(base, float64(i+2))
		if bytes < unit || i == len(prefixes)-1 {
			return fmt.Sprintf("%.1f %s", base*bytes/unit, p), nil
		}
	}
	return "", nil
}

func toNumber(v any) (any, error) {
	switch n := v.(type) {
	case int64, float64, *big.Int:
		return n, nil
	case bool:
		return boolInt(n), nil
	case string:
		return parseFloat(n)
	case undefined:
		return nil, n.err()
	}
	return nil, typeErrorf("float() argument must be a string or a real number, not '%s'", typeName(v))
}

// endItem builds first and last.
func endItem(name string, last bool) filterFunc {
	hint := "No " + name + " item, sequence was empty."
	return func(r *renderer, v any, args []any, kw []kwarg) (any, error) {
		if len(args) > 0 || len(kw) > 0 {
			return nil, typeErrorf("%s() takes 1 positional argument but %d were given", name, 1+len(args)+len(kw))
		}
		list, err := r.iterate(v)
		if err != nil {
			return nil, err
		}
		if len(list) == 0 {
			return undefined{hint: hint, name: name}, nil
		}
		if last {
			return list[len(list)-1], nil
		}
		return list[0], nil
	}
}

var specFloat = newSpec("float", "default", 0.0)

func filterFloat(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specFloat.bind(args, kw)
	if err != nil {
		return nil, err
	}
	switch n := v.(type) {
	case float64:
		return n, nil
	case int64, bool, *big.Int:
		return toFloat(n), nil
	case string, Markup:
		if f, err := parseFloat(str(n)); err == nil {
			return f, nil
		}
	case undefined:
		if r.strict(n) {
			return nil, n.err()
		}
	}
	return a[0], nil
}

// parseFloat is Python's float(str).
func parseFloat(s string) (float64, error) {
	t := strings.TrimSpace(s)
	switch strings.ToLower(strings.TrimLeft(t, "+-")) {
	case "inf", "infinity":
		if strings.HasPrefix(t, "-") {
			return math.Inf(-1), nil
		}
		return math.Inf(1), nil
	case "nan":
		return math.NaN(), nil
	}
	if strings.Contains(t, "__") || strings.HasPrefix(t, "_") || strings.HasSuffix(t, "_") ||
		strings.ContainsAny(t, "xXpP") {
		return 0, valueErrorf("could not convert string to float: %s", quote(s))
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(t, "_", ""), 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && ne.Err == strconv.ErrRange {
			return f, nil
		}
		return 0, valueErrorf("could not convert string to float: %s", quote(s))
	}
	return f, nil
}

func filterFormat(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	s, err := r.toStr(v)
	if err != nil {
		return nil, err
	}
	if len(args) > 0 && len(kw) > 0 {
		return nil, &RenderError{Kind: "FilterArgumentError", Msg: "can't handle positional and keyword arguments at the same time"}
	}
	var fmtArgs any = Tuple(args)
	if len(kw) > 0 {
		d := NewDict(len(kw))
		for _, k := range kw {
			d.Set(k.name, k.val)
		}
		fmtArgs = d
	}
	return r.percentFormat(s, fmtArgs)
}

var specGroupby = newSpec("groupby", "attribute", required, "default", nil, "case_sensitive", false)

func filterGroupby(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specGroupby.bind(args, kw)
	if err != nil {
		return nil, err
	}
	hasDefault := len(args) > 1 || hasKw(kw, "default")
	get, err := r.attrGetter(a[0], a[1], hasDefault)
	if err != nil {
		return nil, err
	}
	list, err := r.iterate(v)
	if err != nil {
		return nil, err
	}
	caseSensitive := truthy(a[2])
	sorted, err := sortValues(list, false, caseSensitive, get)
	if err != nil {
		return nil, err
	}
	var out []any
	var cur *groupTuple
	var curKey any
	for _, item := range sorted {
		k, err := get(item)
		if err != nil {
			return nil, err
		}
		fk := k
		if !caseSensitive {
			fk = foldKey(k)
		}
		if cur == nil || !equal(curKey, fk) {
			cur = &groupTuple{grouper: k, list: &List{}}
			curKey = fk
			out = append(out, cur)
		}
		cur.list.Items = append(cur.list.Items, item)
	}
	return &List{Items: nonNil(out)}, nil
}

func hasKw(kw []kwarg, name string) bool {
	for _, k := range kw {
		if k.name == name {
			return true
		}
	}
	return false
}

// attrGetter returns a function reading a dotted attribute path ("a.b",
// "0") from an item, as Jinja2's make_attrgetter does.
func (r *renderer) attrGetter(attribute, def any, hasDefault bool) (func(any) (any, error), error) {
	var parts []any
	switch a := attribute.(type) {
	case string:
		for _, p := range strings.Split(a, ".") {
			if n, err := strconv.ParseInt(p, 10, 64); err == nil {
				parts = append(parts, n)
			} else {
				parts = append(parts, p)
			}
		}
	case int64:
		parts = []any{a}
	case nil:
		return func(v any) (any, error) { return v, nil }, nil
	default:
		return nil, typeErrorf("attribute must be a string or an integer")
	}
	return func(v any) (any, error) {
		var err error
		for _, p := range parts {
			if v, err = r.getItem(v, p); err != nil {
				return nil, err
			}
		}
		if _, missing := v.(undefined); missing && hasDefault {
			return def, nil
		}
		return v, nil
	}, nil
}

// keyGetter is attrGetter for the key items are compared by: strings are
// lower-cased unless caseSensitive.
func (r *renderer) keyGetter(attribute any, caseSensitive bool) (func(any) (any, error), error) {
	get, err := r.attrGetter(attribute, nil, false)
	if err != nil || caseSensitive {
		return get, err
	}
	return func(x any) (any, error) {
		k, err := get(x)
		if err != nil {
			return nil, err
		}
		return foldKey(k), nil
	}, nil
}

var specIndent = newSpec("indent", "width", int64(4), "first", false, "blank", false)

func filterIndent(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specIndent.bind(args, kw)
	if err != nil {
		return nil, err
	}
	indention, err := indentArg("indent", a[0], "indent width too large")
	if err != nil {
		return nil, err
	}
	s, err := strArg(v, "unsupported operand type(s) for +=: '%s' and 'str'")
	if err != nil {
		return nil, err
	}
	lines := splitLines(s+"\n", false)
	var rv string
	if truthy(a[2]) {
		rv = strings.Join(lines, "\n"+indention)
	} else {
		var b strings.Builder
		b.WriteString(lines[0])
		for _, line := range lines[1:] {
			b.WriteByte('\n')
			if line != "" {
				b.WriteString(indention)
			}
			b.WriteString(line)
		}
		rv = b.String()
	}
	if truthy(a[1]) {
		rv = indention + rv
	}
	if err := r.checkLen(len(rv)); err != nil {
		return nil, err
	}
	if _, ok := v.(Markup); ok {
		return Markup(rv), nil
	}
	return rv, nil
}

// strArg is the value of a filter that, in Jinja2, uses str methods or
// operators on it directly (indent, wordwrap) rather than converting it:
// other values fail with the TypeError msg (formatted with the type name),
// undefined values always (a lenient Undefined fails on them too).
func strArg(v any, msg string) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case Markup:
		return string(v), nil
	case undefined:
		return "", v.err()
	}
	return "", typeErrorf(msg, typeName(v))
}

// indentArg is the indent argument of indent and tojson: a string, or a
// number of spaces; tooLarge is the message for more than maxFormatWidth.
func indentArg(fname string, v any, tooLarge string) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	n, err := argInt(fname, v)
	if err != nil {
		return "", err
	}
	if n > maxFormatWidth {
		return "", &LimitError{Limit: "size", Msg: tooLarge}
	}
	return strings.Repeat(" ", int(max(n, 0))), nil
}

// splitLines is str.splitlines(keepends): nil for "".
func splitLines(s string, keepends bool) []string {
	var out []string
	for s != "" {
		i := strings.IndexAny(s, "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
		if i < 0 {
			out = append(out, s)
			break
		}
		n := 1
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			n = 2
		} else if s[i] >= utf8.RuneSelf {
			_, n = utf8.DecodeRuneInString(s[i:])
		}
		if keepends {
			out = append(out, s[:i+n])
		} else {
			out = append(out, s[:i])
		}
		s = s[i+n:]
	}
	return out
}

var specInt = newSpec("int", "default", int64(0), "base", int64(10))

func filterInt(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specInt.bind(args, kw)
	if err != nil {
		return nil, err
	}
	base, err := argInt("int", a[1])
	if err != nil {
		return nil, err
	}
	switch n := v.(type) {
	case int64, *big.Int:
		return n, nil
	case bool:
		return boolInt(n), nil
	case float64:
		if math.IsInf(n, 0) || math.IsNaN(n) {
			return a[0], nil
		}
		return floatToInt(n), nil
	case string, Markup:
		if i, ok := parseInt(str(n), base); ok {
			return i, nil
		}
		if f, err := parseFloat(str(n)); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return floatToInt(f), nil
		}
	case undefined:
		if r.strict(n) {
			return nil, n.err()
		}
	}
	return a[0], nil
}

func floatToInt(f float64) any {
	t := math.Trunc(f)
	if math.Abs(t) < 1<<63 {
		return int64(t)
	}
	b, _ := new(big.Float).SetFloat64(t).Int(nil)
	return b
}

// parseInt is Python's int(str, base).
func parseInt(s string, base int64) (any, bool) {
	t := strings.TrimSpace(s)
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	lowerT := strings.ToLower(t)
	prefixBase := map[string]int64{"0x": 16, "0o": 8, "0b": 2}
	if len(lowerT) > 2 {
		if pb, ok := prefixBase[lowerT[:2]]; ok && (base == pb || base == 0) {
			t, base = t[2:], pb
			t = strings.TrimPrefix(t, "_")
		}
	}
	if base == 0 {
		if len(t) > 1 && t[0] == '0' && strings.Trim(t, "0_") != "" {
			return nil, false
		}
		base = 10
	}
	if base < 2 || base > 36 || t == "" || strings.HasPrefix(t, "_") || strings.HasSuffix(t, "_") || strings.Contains(t, "__") {
		return nil, false
	}
	z, ok := new(big.Int).SetString(strings.ReplaceAll(t, "_", ""), int(base))
	if !ok {
		return nil, false
	}
	if neg {
		z.Neg(z)
	}
	return normBig(z), true
}

func filterItems(r *renderer, v any) (any, error) {
	p, err := r.pairs(v, "items")
	if err != nil {
		return nil, err
	}
	return &List{Items: p}, nil
}

var specJoin2 = newSpec("join", "d", "", "attribute", nil)

func filterJoin(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specJoin2.bind(args, kw)
	if err != nil {
		return nil, err
	}
	sep, err := r.toStr(a[0])
	if err != nil {
		return nil, err
	}
	list, err := r.iterate(v)
	if err != nil {
		return nil, err
	}
	get, err := r.attrGetter(a[1], nil, false)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	markup := false
	for _, x := range list {
		if _, ok := x.(Markup); ok {
			markup = true
		}
	}
	for i, x := range list {
		if x, err = get(x); err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString(sep)
		}
		s, err := r.toStr(x)
		if err != nil {
			return nil, err
		}
		if markup {
			if _, ok := x.(Markup); !ok {
				s = htmlEscape(s)
			}
		}
		b.WriteString(s)
		if err := r.checkLen(b.Len()); err != nil {
			return nil, err
		}
	}
	if markup {
		return Markup(b.String()), nil
	}
	return b.String(), nil
}

func filterList(r *renderer, v any) (any, error) {
	list, err := r.iterate(v)
	if err != nil {
		return nil, err
	}
	if err := r.grow(len(list)); err != nil {
		return nil, err
	}
	return &List{Items: append([]any{}, list...)}, nil
}

func filterMap(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	if ok, err := r.truth(v); !ok || err != nil {
		return emptyUnlessErr(err)
	}
	list, err := r.iterate(v)
	if err != nil {
		return nil, err
	}
	var fn func(any) (any, error)
	if len(args) == 0 {
		var attribute, def any
		hasDefault := false
		for _, k := range kw {
			switch k.name {
			case "attribute":
				attribute = k.val
			case "default":
				def, hasDefault = k.val, true
			default:
				return nil, &RenderError{Kind: "FilterArgumentError", Msg: fmt.Sprintf("Unexpected keyword argument %s", quote(k.name))}
			}
		}
		if attribute == nil {
			return nil, &RenderError{Kind: "FilterArgumentError", Msg: "map requires a filter argument"}
		}
		if fn, err = r.attrGetter(attribute, def, hasDefault); err != nil {
			return nil, err
		}
	} else {
		name, err := argStr("map", args[0])
		if err != nil {
			return nil, err
		}
		f := r.filters[name]
		if f == nil {
			return nil, &RenderError{Kind: "TemplateRuntimeError", Msg: fmt.Sprintf("No filter named %s found.", quote(name))}
		}
		rest := args[1:]
		fn = func(x any) (any, error) { return f(r, x, rest, kw) }
	}
	out := make([]any, len(list))
	for i, x := range list {
		if i&checkEvery == 0 {
			if err := r.tick(); err != nil {
				return nil, err
			}
		}
		if out[i], err = fn(x); err != nil {
			return nil, err
		}
	}
	return &List{Items: out}, nil
}

// emptyUnlessErr is the result of map, select, reject, selectattr and
// rejectattr on a false value: Jinja2 checks "if value" before looking at
// the arguments or iterating, so none, 0, false and "" give an empty
// sequence (and a strict undefined its error).
func emptyUnlessErr(err error) (any, error) {
	if err != nil {
		return nil, err
	}
	return &List{Items: []any{}}, nil
}

func minMax(name string, sign int) filterFunc {
	sp := newSpec(name, "case_sensitive", false, "attribute", nil)
	return func(r *renderer, v any, args []any, kw []kwarg) (any, error) {
		a, err := sp.bind(args, kw)
		if err != nil {
			return nil, err
		}
		list, err := r.iterate(v)
		if err != nil {
			return nil, err
		}
		if len(list) == 0 {
			return undefined{hint: "No aggregated item, sequence was empty.", name: name}, nil
		}
		key, err := r.keyGetter(a[1], truthy(a[0]))
		if err != nil {
			return nil, err
		}
		best := list[0]
		bestKey, err := key(best)
		if err != nil {
			return nil, err
		}
		for _, x := range list[1:] {
			k, err := key(x)
			if err != nil {
				return nil, err
			}
			c, err := compare(k, bestKey)
			if err != nil {
				return nil, err
			}
			if c*sign > 0 {
				best, bestKey = x, k
			}
		}
		return best, nil
	}
}

func filterPprint(_ *renderer, v any) (any, error) {
	return repr(sortedDicts(v, 0)), nil
}

// sortedDicts copies v with dict keys sorted, as pprint prints them.
func sortedDicts(v any, depth int) any {
	if depth > maxDataDepth {
		return v
	}
	switch x := v.(type) {
	case *Dict:
		idx, _ := keyOrder(x)
		d := NewDict(x.Len())
		for _, i := range idx {
			d.Set(x.keys[i], sortedDicts(x.vals[i], depth+1))
		}
		return d
	case *List:
		out := make([]any, len(x.Items))
		for i, item := range x.Items {
			out[i] = sortedDicts(item, depth+1)
		}
		return &List{Items: out}
	case Tuple:
		out := make(Tuple, len(x))
		for i, item := range x {
			out[i] = sortedDicts(item, depth+1)
		}
		return out
	}
	return v
}

func filterRandom(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	list, err := r.iterate(v)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return undefined{hint: "No random item, sequence was empty.", name: "random"}, nil
	}
	return list[rand.IntN(len(list))], nil
}

// selectFilter builds select, reject, selectattr and rejectattr.
func selectFilter(name string, keep, byAttr bool) filterFunc {
	return func(r *renderer, v any, args []any, kw []kwarg) (any, error) {
		if ok, err := r.truth(v); !ok || err != nil {
			return emptyUnlessErr(err)
		}
		list, err := r.iterate(v)
		if err != nil {
			return nil, err
		}
		get := func(x any) (any, error) { return x, nil }
		if byAttr {
			if len(args) == 0 {
				return nil, &RenderError{Kind: "FilterArgumentError", Msg: "Missing parameter for attribute name"}
			}
			if get, err = r.attrGetter(args[0], nil, false); err != nil {
				return nil, err
			}
			args = args[1:]
		}
		test := func(x any) (bool, error) { return r.truth(x) }
		if len(args) > 0 {
			tname, err := argStr(name, args[0])
			if err != nil {
				return nil, err
			}
			t := r.tests[tname]
			if t == nil {
				return nil, &RenderError{Kind: "TemplateRuntimeError", Msg: fmt.Sprintf("No test named %s found.", quote(tname))}
			}
			rest := args[1:]
			test = func(x any) (bool, error) { return t(r, x, rest, kw) }
		}
		out := []any{}
		for i, x := range list {
			if i&checkEvery == 0 {
				if err := r.tick(); err != nil {
					return nil, err
				}
			}
			val, err := get(x)
			if err != nil {
				return nil, err
			}
			ok, err := test(val)
			if err != nil {
				return nil, err
			}
			if ok == keep {
				out = append(out, x)
			}
		}
		return &List{Items: out}, nil
	}
}

var specReplace2 = newSpec("replace", "old", required, "new", required, "count", nil)

func filterReplace(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specReplace2.bind(args, kw)
	if err != nil {
		return nil, err
	}
	s, err := r.toStr(v)
	if err != nil {
		return nil, err
	}
	old, err := r.toStr(a[0])
	if err != nil {
		return nil, err
	}
	repl, err := r.toStr(a[1])
	if err != nil {
		return nil, err
	}
	count, err := argOptInt("replace", a[2], -1)
	if err != nil {
		return nil, err
	}
	out, err := r.replace(s, old, repl, count)
	if err != nil {
		return nil, err
	}
	if _, ok := v.(Markup); ok {
		return Markup(out), nil
	}
	return out, nil
}

func filterReverse(r *renderer, v any) (any, error) {
	if s, ok := asString(v); ok {
		runes := []rune(s)
		for i, j := 0, len(runes)-1; i < j; i, j = i+1, j-1 {
			runes[i], runes[j] = runes[j], runes[i]
		}
		return string(runes), nil
	}
	list, err := r.iterate(v)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(list))
	for i, x := range list {
		out[len(list)-1-i] = x
	}
	return &List{Items: out}, nil
}

var specRound = newSpec("round", "precision", int64(0), "method", "common")

func filterRound(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specRound.bind(args, kw)
	if err != nil {
		return nil, err
	}
	prec, err := argInt("round", a[0])
	if err != nil {
		return nil, err
	}
	method, _ := asString(a[1])
	if method != "common" && method != "ceil" && method != "floor" {
		return nil, &RenderError{Kind: "FilterArgumentError", Msg: "method must be common, ceil or floor"}
	}
	if u, ok := v.(undefined); ok {
		return nil, u.err()
	}
	if !isNumber(v) {
		return nil, typeErrorf("type %s doesn't define __round__ method", typeName(v))
	}
	if method == "common" {
		if _, isFloat := v.(float64); !isFloat {
			return roundInt(v, prec)
		}
		return pyRound(toFloat(v), prec), nil
	}
	scale := math.Pow(10, float64(prec))
	f := toFloat(v) * scale
	if method == "ceil" {
		f = math.Ceil(f)
	} else {
		f = math.Floor(f)
	}
	return f / scale, nil
}

// roundInt is Python's round(int, ndigits): an int, ties to even.
func roundInt(v any, prec int64) (any, error) {
	if prec >= 0 {
		return positive(v)
	}
	if prec < -maxIntBits {
		return int64(0), nil
	}
	n := toBig(v)
	unit := new(big.Int).Exp(big.NewInt(10), big.NewInt(-prec), nil)
	q, m := new(big.Int).DivMod(n, unit, new(big.Int)) // floor division, m >= 0
	twice := new(big.Int).Lsh(m, 1)
	if c := twice.Cmp(unit); c > 0 || (c == 0 && q.Bit(0) == 1) {
		q.Add(q, big.NewInt(1))
	}
	return normBig(q.Mul(q, unit)), nil
}

// pyRound is Python's round(float, ndigits): correctly rounded, ties to
// even.
func pyRound(f float64, prec int64) float64 {
	if math.IsInf(f, 0) || math.IsNaN(f) || prec > 300 {
		return f
	}
	if prec < -308 {
		return 0 * f
	}
	if prec < 0 {
		scale := math.Pow(10, float64(-prec))
		return math.RoundToEven(f/scale) * scale
	}
	s := strconv.FormatFloat(f, 'f', int(prec), 64)
	out, _ := strconv.ParseFloat(s, 64)
	return out
}

func markSafe(s string) Markup { return Markup(s) }

var specSlice = newSpec("slice", "slices", required, "fill_with", nil)

func filterSlice(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specSlice.bind(args, kw)
	if err != nil {
		return nil, err
	}
	n, err := argInt("slice", a[0])
	if err != nil {
		return nil, err
	}
	if n <= 0 || n > int64(r.opts.MaxRange) {
		return nil, valueErrorf("slice count out of range")
	}
	list, err := r.iterate(v)
	if err != nil {
		return nil, err
	}
	hasFill := len(args) > 1 || hasKw(kw, "fill_with")
	size := len(list) / int(n)
	extra := len(list) % int(n)
	offset := 0
	out := make([]any, 0, n)
	for i := range int(n) {
		start := offset + i*size
		if i < extra {
			offset++
		}
		end := offset + (i+1)*size
		row := append([]any{}, list[start:end]...)
		if hasFill && i >= extra && extra > 0 {
			row = append(row, a[1])
		}
		out = append(out, &List{Items: row})
	}
	return &List{Items: out}, nil
}

var specSort = newSpec("sort", "reverse", false, "case_sensitive", false, "attribute", nil)

func filterSort(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specSort.bind(args, kw)
	if err != nil {
		return nil, err
	}
	list, err := r.iterate(v)
	if err != nil {
		return nil, err
	}
	var key func(any) (any, error)
	if attr, ok := a[2].(string); ok && strings.Contains(attr, ",") {
		var getters []func(any) (any, error)
		for _, part := range strings.Split(attr, ",") {
			g, err := r.attrGetter(strings.TrimSpace(part), nil, false)
			if err != nil {
				return nil, err
			}
			getters = append(getters, g)
		}
		key = func(x any) (any, error) {
			t := make(Tuple, len(getters))
			for i, g := range getters {
				var err error
				if t[i], err = g(x); err != nil {
					return nil, err
				}
			}
			return t, nil
		}
	} else if a[2] != nil {
		if key, err = r.attrGetter(a[2], nil, false); err != nil {
			return nil, err
		}
	}
	sorted, err := sortValues(list, truthy(a[0]), truthy(a[1]), key)
	if err != nil {
		return nil, err
	}
	return &List{Items: sorted}, nil
}

func filterString(r *renderer, v any) (any, error) {
	if m, ok := v.(Markup); ok {
		return m, nil
	}
	return r.toStr(v)
}

// striptags is markupsafe's Markup.striptags: drop comments and tags,
// collapse whitespace, unescape entities.
func striptags(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "<!--")
		j := strings.IndexByte(s, '<')
		if i >= 0 && i == j {
			end := strings.Index(s[i+4:], "-->")
			if end < 0 {
				b.WriteString(s)
				break
			}
			b.WriteString(s[:i])
			s = s[i+4+end+3:]
			continue
		}
		if j < 0 {
			b.WriteString(s)
			break
		}
		end := strings.IndexByte(s[j+1:], '>')
		if end < 0 || !isTagStart(s[j+1:]) {
			b.WriteString(s[:j+1])
			s = s[j+1:]
			continue
		}
		b.WriteString(s[:j])
		s = s[j+1+end+1:]
	}
	return htmlUnescape(strings.Join(strings.Fields(b.String()), " "))
}

// isTagStart reports whether the text after '<' starts a tag: markupsafe
// matches <.*?> where the body does not start with whitespace.
func isTagStart(s string) bool {
	return s != "" && s[0] != '>'
}

func filterSum(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	sp := newSpec("sum", "attribute", nil, "start", int64(0))
	a, err := sp.bind(args, kw)
	if err != nil {
		return nil, err
	}
	list, err := r.iterate(v)
	if err != nil {
		return nil, err
	}
	get, err := r.attrGetter(a[0], nil, false)
	if err != nil {
		return nil, err
	}
	total := a[1]
	for _, x := range list {
		if x, err = get(x); err != nil {
			return nil, err
		}
		if _, isStr := asString(x); isStr {
			return nil, unsupported("+", total, x)
		}
		if u, ok := x.(undefined); ok {
			return nil, u.err()
		}
		if total, err = r.add(total, x); err != nil {
			return nil, err
		}
	}
	return total, nil
}

// jinjaTitle is Jinja2's title filter: each word (split on whitespace,
// hyphens and opening brackets) gets its first character upper-cased and
// the rest lower-cased.
func jinjaTitle(s string) string {
	if isASCII(s) {
		b := []byte(s)
		start := true
		for i, c := range b {
			switch {
			case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || c == 0x1c || c == 0x1d || c == 0x1e || c == 0x1f ||
				c == '-' || c == '(' || c == '{' || c == '[' || c == '<':
				start = true
			case start:
				if 'a' <= c && c <= 'z' {
					b[i] = c - 32
				}
				start = false
			default:
				if 'A' <= c && c <= 'Z' {
					b[i] = c + 32
				}
			}
		}
		return string(b)
	}
	var b strings.Builder
	b.Grow(len(s))
	start := true
	for i, c := range s {
		_, size := utf8.DecodeRuneInString(s[i:])
		sep := unicode.IsSpace(c) || strings.ContainsRune("-({[<", c)
		switch {
		case sep:
			b.WriteRune(c)
			start = true
		case start:
			b.WriteString(upper(s[i : i+size]))
			start = false
		default:
			b.WriteString(lower(s[i : i+size]))
		}
	}
	return b.String()
}

var specTrim = newSpec("trim", "chars", nil)

func filterTrim(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specTrim.bind(args, kw)
	if err != nil {
		return nil, err
	}
	s, err := r.toStr(v)
	if err != nil {
		return nil, err
	}
	return strip("trim", s, a[0], strings.Trim, strings.TrimFunc)
}

var specTruncate = newSpec("truncate", "length", int64(255), "killwords", false, "end", "...", "leeway", nil)

func filterTruncate(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specTruncate.bind(args, kw)
	if err != nil {
		return nil, err
	}
	n, err := argInt("truncate", a[0])
	if err != nil {
		return nil, err
	}
	end, err := r.toStr(a[2])
	if err != nil {
		return nil, err
	}
	leeway, err := argOptInt("truncate", a[3], 5)
	if err != nil {
		return nil, err
	}
	endLen := int64(utf8.RuneCountInString(end))
	if n < endLen {
		return nil, &RenderError{Kind: "AssertionError", Msg: fmt.Sprintf("expected length >= %d, got %d", endLen, n)}
	}
	if leeway < 0 {
		return nil, &RenderError{Kind: "AssertionError", Msg: fmt.Sprintf("expected leeway >= 0, got %d", leeway)}
	}
	switch v.(type) {
	case string, Markup, undefined:
	default:
		// Jinja2 measures any value with a length and returns it as it is
		// when it fits; only strings can be cut.
		size, err := length(v)
		if err != nil {
			return nil, err
		}
		if int64(size) <= n+leeway {
			return v, nil
		}
		return nil, typeErrorf("cannot truncate a %s", typeName(v))
	}
	s, err := r.toStr(v)
	if err != nil {
		return nil, err
	}
	if int64(utf8.RuneCountInString(s)) <= n+leeway {
		return s, nil
	}
	cut := s[:runeOffset(s, int(n-endLen))]
	if truthy(a[1]) {
		return cut + end, nil
	}
	if i := strings.LastIndexByte(cut, ' '); i >= 0 {
		cut = cut[:i]
	}
	return cut + end, nil
}

// runeOffset returns the byte offset of the n-th character of s.
func runeOffset(s string, n int) int {
	for i := range s {
		if n == 0 {
			return i
		}
		n--
	}
	return len(s)
}

var specUnique = newSpec("unique", "case_sensitive", false, "attribute", nil)

func filterUnique(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specUnique.bind(args, kw)
	if err != nil {
		return nil, err
	}
	list, err := r.iterate(v)
	if err != nil {
		return nil, err
	}
	key, err := r.keyGetter(a[1], truthy(a[0]))
	if err != nil {
		return nil, err
	}
	seen := NewDict(len(list))
	out := []any{}
	for _, x := range list {
		k, err := key(x)
		if err != nil {
			return nil, err
		}
		if err := hashable(k); err != nil {
			return nil, err
		}
		if _, dup := seen.Get(k); dup {
			continue
		}
		seen.Set(k, true)
		out = append(out, x)
	}
	return &List{Items: out}, nil
}

func filterUrlencode(r *renderer, v any) (any, error) {
	var pairs []any
	switch o := v.(type) {
	case string, Markup:
		return urlQuote(str(o), false), nil
	case *Dict:
		pairs, _ = r.pairs(o, "urlencode")
	default:
		list, err := r.iterate(v)
		if err != nil {
			s, err := r.toStr(v)
			if err != nil {
				return nil, err
			}
			return urlQuote(s, false), nil
		}
		pairs = list
	}
	parts := make([]string, 0, len(pairs))
	for _, p := range pairs {
		kv, err := r.iterate(p)
		if err != nil || len(kv) != 2 {
			return nil, valueErrorf("urlencode expects a mapping or pairs")
		}
		k, err := r.toStr(kv[0])
		if err != nil {
			return nil, err
		}
		val, err := r.toStr(kv[1])
		if err != nil {
			return nil, err
		}
		parts = append(parts, urlQuote(k, true)+"="+urlQuote(val, true))
	}
	return strings.Join(parts, "&"), nil
}

// urlQuote is Jinja2's url_quote: percent-encode UTF-8 bytes except
// unreserved characters (and "/" outside query strings); in query strings
// spaces become "+".
func urlQuote(s string, forQS bool) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.', c == '-', c == '~':
			b.WriteByte(c)
		case c == '/' && !forQS:
			b.WriteByte(c)
		case c == ' ' && forQS:
			b.WriteByte('+')
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// wordcount counts the runs of word characters in s.
func wordcount(s string) int64 {
	n := int64(0)
	in := false
	for _, c := range s {
		w := isWordChar(c)
		if w && !in {
			n++
		}
		in = w
	}
	return n
}

// isWordChar is Python's \w for str patterns.
func isWordChar(c rune) bool {
	return c == '_' || unicode.IsLetter(c) || unicode.IsDigit(c) || unicode.IsNumber(c) || unicode.Is(unicode.Mn, c)
}

var specWordwrap = newSpec("wordwrap", "width", int64(79), "break_long_words", true, "wrapstring", nil, "break_on_hyphens", true)

func filterWordwrap(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specWordwrap.bind(args, kw)
	if err != nil {
		return nil, err
	}
	s, err := strArg(v, "'%s' object has no attribute 'splitlines'")
	if err != nil {
		return nil, err
	}
	width, err := argInt("wordwrap", a[0])
	if err != nil {
		return nil, err
	}
	if width <= 0 {
		return nil, valueErrorf("invalid width %d (must be > 0)", width)
	}
	wrapstring := "\n"
	if a[2] != nil {
		if wrapstring, err = r.toStr(a[2]); err != nil {
			return nil, err
		}
	}
	var paras []string
	for _, line := range splitLines(s, false) {
		if s == "" {
			break
		}
		paras = append(paras, strings.Join(textWrap(line, int(width), truthy(a[1]), truthy(a[3])), wrapstring))
	}
	out := strings.Join(paras, wrapstring)
	if err := r.checkLen(len(out)); err != nil {
		return nil, err
	}
	return out, nil
}

func filterXmlattr(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	sp := newSpec("xmlattr", "autospace", true)
	a, err := sp.bind(args, kw)
	if err != nil {
		return nil, err
	}
	pairs, err := r.pairs(v, "xmlattr")
	if err != nil {
		return nil, err
	}
	var parts []string
	for _, p := range pairs {
		kv := p.(Tuple)
		if kv[1] == nil {
			continue
		}
		if _, ok := kv[1].(undefined); ok {
			continue
		}
		k := str(kv[0])
		if strings.ContainsAny(k, " />=") || k == "" {
			return nil, valueErrorf("Invalid character in attribute name: %s", quote(k))
		}
		val, err := r.toStr(kv[1])
		if err != nil {
			return nil, err
		}
		parts = append(parts, fmt.Sprintf(`%s="%s"`, htmlEscape(k), htmlEscape(val)))
	}
	out := strings.Join(parts, " ")
	if truthy(a[0]) && out != "" {
		out = " " + out
	}
	return Markup(out), nil
}
