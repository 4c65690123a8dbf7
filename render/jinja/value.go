package jinja

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Values inside the renderer are plain Go values of these types, mirroring
// Python's:
//
//	nil            None
//	bool           bool
//	int64          int (values beyond int64 become *big.Int)
//	float64        float
//	string         str (indexed and iterated by character)
//	Markup         str marked safe for HTML
//	*List          list (mutable: append, pop…)
//	Tuple          tuple
//	*Dict          dict, in insertion order
//	undefined      a missing variable, attribute or item
//
// plus callables (macros, globals, bound methods) and helper objects (loop,
// namespace, cycler, joiner). Variables given to Render are converted into
// this form, which also deep-copies them.

// Markup is a string that is safe to print without HTML escaping (the result
// of the safe and escape filters).
type Markup string

// List is a mutable Jinja list.
type List struct {
	Items []any
}

// strList returns a list of the strings.
func strList(ss []string) *List {
	items := make([]any, len(ss))
	for i, s := range ss {
		items[i] = s
	}
	return &List{Items: items}
}

// Tuple is an immutable Jinja tuple.
type Tuple []any

// Dict is an ordered mapping with Python's dict semantics: iteration and
// printing follow insertion order. Keys are strings, integers, floats,
// booleans, None or tuples of those.
type Dict struct {
	keys  []any
	vals  []any
	index map[any]int // key → position, built once the dict grows
}

// dictIndexThreshold is the size from which lookups use a hash index
// instead of a scan.
const dictIndexThreshold = 8

// NewDict returns an empty Dict with room for n entries.
func NewDict(n int) *Dict {
	return &Dict{keys: make([]any, 0, n), vals: make([]any, 0, n)}
}

// Len returns the number of entries.
func (d *Dict) Len() int { return len(d.keys) }

// Keys returns the keys in insertion order.
func (d *Dict) Keys() []any { return append([]any(nil), d.keys...) }

// Get returns the value stored under key.
func (d *Dict) Get(key any) (any, bool) {
	i := d.find(key)
	if i < 0 {
		return nil, false
	}
	return d.vals[i], true
}

// Set stores value under key, keeping the position of an existing key.
func (d *Dict) Set(key, value any) {
	if i := d.find(key); i >= 0 {
		d.vals[i] = value
		return
	}
	d.keys = append(d.keys, key)
	d.vals = append(d.vals, value)
	if d.index != nil {
		d.index[hashKey(key)] = len(d.keys) - 1
	} else if len(d.keys) > dictIndexThreshold {
		d.reindex()
	}
}

// Delete removes key and reports whether it was present.
func (d *Dict) Delete(key any) bool {
	i := d.find(key)
	if i < 0 {
		return false
	}
	d.keys = append(d.keys[:i], d.keys[i+1:]...)
	d.vals = append(d.vals[:i], d.vals[i+1:]...)
	if d.index != nil {
		d.reindex()
	}
	return true
}

func (d *Dict) reindex() {
	d.index = make(map[any]int, len(d.keys))
	for i, k := range d.keys {
		d.index[hashKey(k)] = i
	}
}

func (d *Dict) find(key any) int {
	if d.index != nil {
		if i, ok := d.index[hashKey(key)]; ok {
			return i
		}
		return -1
	}
	if s, ok := key.(string); ok {
		for i, k := range d.keys {
			if ks, ok := k.(string); ok && ks == s {
				return i
			}
		}
		return -1
	}
	for i, k := range d.keys {
		if equal(k, key) {
			return i
		}
	}
	return -1
}

// keyOrder returns the positions of d's entries in the (stable) order of
// their keys, and the first error comparing two keys.
func keyOrder(d *Dict) ([]int, error) {
	idx := make([]int, d.Len())
	for i := range idx {
		idx[i] = i
	}
	var cmpErr error
	sort.SliceStable(idx, func(i, j int) bool {
		c, err := compare(d.keys[idx[i]], d.keys[idx[j]])
		if err != nil && cmpErr == nil {
			cmpErr = err
		}
		return c < 0
	})
	return idx, cmpErr
}

// hashKey maps a dict key to a comparable Go value with Python's equality:
// 1, 1.0 and True are the same key.
func hashKey(k any) any {
	switch k := k.(type) {
	case string:
		return k
	case Markup:
		return string(k)
	case bool:
		if k {
			return int64(1)
		}
		return int64(0)
	case float64:
		if k == math.Trunc(k) && math.Abs(k) < 1<<62 {
			return int64(k)
		}
		return k
	case *big.Int:
		return "\x00big:" + k.String()
	case Tuple:
		return "\x00tuple:" + repr(k)
	}
	return k
}

// MarshalJSON encodes the dict as a JSON object in insertion order.
func (d *Dict) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range d.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := json.Marshal(str(k))
		if err != nil {
			return nil, err
		}
		b.Write(kb)
		b.WriteByte(':')
		vb, err := json.Marshal(plain(d.vals[i]))
		if err != nil {
			return nil, err
		}
		b.Write(vb)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// undefined is a missing name, attribute or item. It renders as the empty
// string, iterates as empty and is false; anything else done with it is an
// UndefinedError (every use, under Options.Strict).
type undefined struct {
	name string
	hint string // overrides the generated message
	obj  any    // the object that lacks the attribute or item
	key  any
	kind uint8
	soft bool // never strict (the missing else of an inline if)
}

const (
	undefNameKind = iota
	undefAttrKind
	undefItemKind
)

func undefName(name string) undefined { return undefined{name: name} }

// message is Jinja2's message for the undefined value.
func (u undefined) message() string {
	if u.hint != "" {
		return u.hint
	}
	switch u.kind {
	case undefAttrKind:
		return fmt.Sprintf("'%s' has no attribute '%s'", objectName(u.obj), u.name)
	case undefItemKind:
		return fmt.Sprintf("'%s' has no attribute %s", objectName(u.obj), repr(u.key))
	}
	return fmt.Sprintf("'%s' is undefined", u.name)
}

func (u undefined) err() error { return &UndefinedError{Name: u.name, Msg: u.message()} }

// objectName is Jinja2's description of an object in undefined messages.
func objectName(v any) string {
	switch v.(type) {
	case *Dict:
		return "dict object"
	case *List:
		return "list object"
	case Tuple:
		return "tuple object"
	case string, Markup:
		return "str object"
	}
	return typeName(v) + " object"
}

// typeName is Python's type name of v.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int64, *big.Int:
		return "int"
	case float64:
		return "float"
	case string, Markup:
		return "str"
	case *List:
		return "list"
	case Tuple:
		return "tuple"
	case *Dict:
		return "dict"
	case undefined:
		return "Undefined"
	case *macro:
		return "Macro"
	case *namespace:
		return "Namespace"
	}
	return "object"
}

// normalize converts a Go value given by the caller into the renderer's
// representation, copying every container so that a template cannot modify
// the caller's data. Unknown types go through reflection; functions and
// channels become None.
func normalize(v any, depth int) (any, error) {
	switch x := v.(type) {
	case string:
		if !utf8.ValidString(x) {
			return strings.ToValidUTF8(x, "\uFFFD"), nil
		}
		return v, nil // v, not x: no new interface value
	case nil, bool, int64, float64, Markup, undefined:
		return v, nil
	case int:
		return int64(x), nil
	case []any:
		return normalizeSlice(x, depth)
	case *Dict:
		return normalizeDict(x, depth)
	}
	return normalizeOther(v, depth)
}

// normalizeOther converts the less common types; it is kept apart from
// normalize so that the recursive path keeps a small stack frame.
//
//go:noinline
func normalizeOther(v any, depth int) (any, error) {
	switch v := v.(type) {
	case int32:
		return int64(v), nil
	case float32:
		return float64(v), nil
	case *big.Int:
		if v.IsInt64() {
			return v.Int64(), nil
		}
		return new(big.Int).Set(v), nil
	case json.Number:
		return numberValue(string(v))
	case map[string]any:
		return normalizeMap(v, depth)
	case *List:
		return normalizeSlice(v.Items, depth)
	case Tuple:
		l, err := normalizeSlice(v, depth)
		if err != nil {
			return nil, err
		}
		return Tuple(l.Items), nil
	case []string:
		return strList(v), nil
	}
	return normalizeReflect(reflect.ValueOf(v), depth)
}

func depthError() error {
	return &LimitError{Limit: "recursion", Msg: fmt.Sprintf("variables nested deeper than %d", maxDataDepth)}
}

//go:noinline
func normalizeMap(v map[string]any, depth int) (any, error) {
	if depth >= maxDataDepth {
		return nil, depthError()
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d := NewDict(len(keys))
	for _, k := range keys {
		c, err := normalize(v[k], depth+1)
		if err != nil {
			return nil, err
		}
		d.Set(k, c)
	}
	return d, nil
}

func normalizeDict(v *Dict, depth int) (any, error) {
	if depth >= maxDataDepth {
		return nil, depthError()
	}
	d := &Dict{keys: append([]any(nil), v.keys...), vals: make([]any, len(v.vals))}
	for i, x := range v.vals {
		c, err := normalize(x, depth+1)
		if err != nil {
			return nil, err
		}
		d.vals[i] = c
	}
	if v.index != nil {
		d.reindex()
	}
	return d, nil
}

// maxDataDepth bounds the nesting of variables (encoding/json allows 10000).
const maxDataDepth = 1000

func normalizeSlice(v []any, depth int) (*List, error) {
	if depth >= maxDataDepth {
		return nil, depthError()
	}
	items := make([]any, len(v))
	for i, x := range v {
		c, err := normalize(x, depth+1)
		if err != nil {
			return nil, err
		}
		items[i] = c
	}
	return &List{Items: items}, nil
}

func normalizeReflect(rv reflect.Value, depth int) (any, error) {
	if depth >= maxDataDepth {
		return nil, depthError()
	}
	switch rv.Kind() {
	case reflect.Invalid:
		return nil, nil
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil, nil
		}
		return normalize(rv.Elem().Interface(), depth+1)
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u := rv.Uint()
		if u > math.MaxInt64 {
			return new(big.Int).SetUint64(u), nil
		}
		return int64(u), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.String:
		return strings.ToValidUTF8(rv.String(), "\uFFFD"), nil
	case reflect.Slice, reflect.Array:
		items := make([]any, rv.Len())
		for i := range items {
			c, err := normalize(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			items[i] = c
		}
		return &List{Items: items}, nil
	case reflect.Map:
		keys := rv.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
		d := NewDict(len(keys))
		for _, k := range keys {
			kc, err := normalize(k.Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			vc, err := normalize(rv.MapIndex(k).Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			d.Set(kc, vc)
		}
		return d, nil
	case reflect.Struct:
		d := NewDict(rv.NumField())
		t := rv.Type()
		for i := range rv.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name := f.Name
			if tag, ok := f.Tag.Lookup("json"); ok {
				tagName, _, _ := strings.Cut(tag, ",")
				if tagName == "-" {
					continue
				}
				if tagName != "" {
					name = tagName
				}
			}
			c, err := normalize(rv.Field(i).Interface(), depth+1)
			if err != nil {
				return nil, err
			}
			d.Set(name, c)
		}
		return d, nil
	}
	return nil, nil
}

// plain converts a renderer value back to encoding/json's types.
func plain(v any) any { return plainDepth(v, 0) }

func plainDepth(v any, depth int) any {
	if depth > maxDataDepth {
		return nil
	}
	switch v := v.(type) {
	case *Dict:
		m := make(map[string]any, v.Len())
		for i, k := range v.keys {
			m[str(k)] = plainDepth(v.vals[i], depth+1)
		}
		return m
	case *List:
		return plainDepth(v.Items, depth)
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = plainDepth(x, depth+1)
		}
		return out
	case Tuple:
		return plainDepth([]any(v), depth)
	case Markup:
		return string(v)
	case *big.Int:
		return json.Number(v.String())
	case undefined:
		return nil
	}
	return v
}

// numberValue parses a JSON number: integral values become int64 (or
// *big.Int), others float64.
func numberValue(s string) (any, error) {
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return i, nil
		}
		if b, ok := new(big.Int).SetString(s, 10); ok {
			return b, nil
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fmt.Errorf("invalid number %q", s)
	}
	return f, nil
}

// str is Python's str(v).
func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case Markup:
		return string(v)
	case nil:
		return "None"
	case bool:
		if v {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return formatFloat(v)
	case *big.Int:
		return v.String()
	case undefined:
		return ""
	case fmt.Stringer:
		return v.String()
	}
	return repr(v)
}

// repr is Python's repr(v).
func repr(v any) string {
	var b strings.Builder
	writeRepr(&b, v, nil)
	return b.String()
}

// writeRepr writes repr(v); path holds the containers being written, so
// that a list containing itself prints as [...] as in Python.
func writeRepr(b *strings.Builder, v any, path []any) {
	if len(path) > maxDataDepth {
		b.WriteString("...")
		return
	}
	switch v.(type) {
	case *List, *Dict:
		for _, p := range path {
			if p == v {
				if _, ok := v.(*List); ok {
					b.WriteString("[...]")
				} else {
					b.WriteString("{...}")
				}
				return
			}
		}
		path = append(path, v)
	case Tuple, *groupTuple:
		path = append(path, nil)
	}
	depth := path
	switch v := v.(type) {
	case string:
		b.WriteString(quote(v))
	case Markup:
		b.WriteString("Markup(")
		b.WriteString(quote(string(v)))
		b.WriteByte(')')
	case *List:
		b.WriteByte('[')
		writeReprItems(b, v.Items, depth)
		b.WriteByte(']')
	case Tuple:
		b.WriteByte('(')
		writeReprItems(b, v, depth)
		if len(v) == 1 {
			b.WriteByte(',')
		}
		b.WriteByte(')')
	case *Dict:
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, k, depth)
			b.WriteString(": ")
			writeRepr(b, v.vals[i], depth)
		}
		b.WriteByte('}')
	case *groupTuple:
		b.WriteByte('(')
		writeRepr(b, v.grouper, depth)
		b.WriteString(", ")
		writeRepr(b, v.list, depth)
		b.WriteByte(')')
	case undefined:
		b.WriteString("Undefined")
	case nil, bool, int64, float64, *big.Int:
		b.WriteString(str(v))
	case interface{ repr() string }:
		b.WriteString(v.repr())
	default:
		fmt.Fprintf(b, "<%s object>", typeName(v))
	}
}

// writeReprItems writes the reprs of items separated by ", ".
func writeReprItems(b *strings.Builder, items []any, path []any) {
	for i, x := range items {
		if i > 0 {
			b.WriteString(", ")
		}
		writeRepr(b, x, path)
	}
}

// quote renders s as a Python string literal.
func quote(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x80 || unicode.IsPrint(r):
			b.WriteRune(r)
		case r <= 0xff:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// formatFloat is Python's repr of a float.
func formatFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expStr, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expStr)
	if exp < -4 || exp >= 16 {
		return mant + "e" + expSign(exp)
	}
	out := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(out, ".") {
		out += ".0"
	}
	return out
}

func expSign(exp int) string {
	if exp < 0 {
		return fmt.Sprintf("-%02d", -exp)
	}
	return fmt.Sprintf("+%02d", exp)
}

// truthy is Python's bool(v).
func truthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case int64:
		return v != 0
	case float64:
		return v != 0
	case string:
		return v != ""
	case Markup:
		return v != ""
	case *List:
		return len(v.Items) > 0
	case Tuple:
		return len(v) > 0
	case *Dict:
		return v.Len() > 0
	case *big.Int:
		return v.Sign() != 0
	case undefined:
		return false
	}
	return true
}

// equal is Python's ==. Containers nested deeper than maxDataDepth (which
// only a list containing itself reaches) compare unequal.
func equal(a, b any) bool { return equalDepth(a, b, 0) }

func equalDepth(a, b any, depth int) bool {
	if depth > maxDataDepth {
		return false
	}
	switch a := a.(type) {
	case string:
		switch b := b.(type) {
		case string:
			return a == b
		case Markup:
			return a == string(b)
		}
		return false
	case Markup:
		return equalDepth(string(a), b, depth)
	case nil:
		return b == nil
	case undefined:
		_, ok := b.(undefined)
		return ok
	case *List:
		bl, ok := b.(*List)
		return ok && (a == bl || equalSlices(a.Items, bl.Items, depth))
	case Tuple:
		bt, ok := b.(Tuple)
		return ok && equalSlices(a, bt, depth)
	case *Dict:
		bd, ok := b.(*Dict)
		if !ok || a.Len() != bd.Len() {
			return false
		}
		for i, k := range a.keys {
			v, ok := bd.Get(k)
			if !ok || !equalDepth(a.vals[i], v, depth+1) {
				return false
			}
		}
		return true
	}
	if isNumber(a) && isNumber(b) {
		c, _ := compareNumbers(a, b)
		return c == 0
	}
	switch b.(type) {
	case string, Markup, nil, undefined, *List, Tuple, *Dict:
		return false
	}
	if ta := reflect.TypeOf(a); ta != nil && ta.Comparable() && ta == reflect.TypeOf(b) {
		return a == b
	}
	return false
}

func equalSlices(a, b []any, depth int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !equalDepth(a[i], b[i], depth+1) {
			return false
		}
	}
	return true
}

func isNumber(v any) bool {
	switch v.(type) {
	case int64, float64, bool, *big.Int:
		return true
	}
	return false
}

// compareNumbers compares two numbers (bool counts as int).
func compareNumbers(a, b any) (int, bool) {
	ai, aInt := a.(int64)
	bi, bInt := b.(int64)
	if ab, ok := a.(bool); ok {
		ai, aInt = boolInt(ab), true
	}
	if bb, ok := b.(bool); ok {
		bi, bInt = boolInt(bb), true
	}
	if aInt && bInt {
		switch {
		case ai < bi:
			return -1, true
		case ai > bi:
			return 1, true
		}
		return 0, true
	}
	_, aBig := a.(*big.Int)
	_, bBig := b.(*big.Int)
	if (aBig || aInt) && (bBig || bInt) {
		return toBig(a).Cmp(toBig(b)), true
	}
	af, bf := toFloat(a), toFloat(b)
	switch {
	case af < bf:
		return -1, true
	case af > bf:
		return 1, true
	case af == bf:
		return 0, true
	}
	return 0, false // NaN
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func toBig(v any) *big.Int {
	switch v := v.(type) {
	case *big.Int:
		return v
	case int64:
		return big.NewInt(v)
	case bool:
		return big.NewInt(boolInt(v))
	}
	return new(big.Int)
}

func toFloat(v any) float64 {
	switch v := v.(type) {
	case int64:
		return float64(v)
	case float64:
		return v
	case bool:
		return float64(boolInt(v))
	case *big.Int:
		f, _ := new(big.Float).SetInt(v).Float64()
		return f
	}
	return math.NaN()
}

// compare is Python's ordering for <, >, sort, min and max. It fails with a
// TypeError for unorderable types.
func compare(a, b any) (int, error) { return compareDepth(a, b, 0) }

func compareDepth(a, b any, depth int) (int, error) {
	if depth > maxDataDepth {
		return 0, &RenderError{Kind: "RecursionError", Msg: "maximum recursion depth exceeded in comparison"}
	}
	if isNumber(a) && isNumber(b) {
		c, _ := compareNumbers(a, b)
		return c, nil
	}
	switch av := a.(type) {
	case string, Markup:
		if bs, ok := asString(b); ok {
			return strings.Compare(str(av), bs), nil
		}
	case *List:
		if bl, ok := b.(*List); ok {
			return compareSlices(av.Items, bl.Items, depth)
		}
	case Tuple:
		if bt, ok := b.(Tuple); ok {
			return compareSlices(av, bt, depth)
		}
	}
	return 0, typeErrorf("'<' not supported between instances of '%s' and '%s'", typeName(a), typeName(b))
}

func compareSlices(a, b []any, depth int) (int, error) {
	for i := 0; i < len(a) && i < len(b); i++ {
		if equalDepth(a[i], b[i], depth+1) {
			continue
		}
		return compareDepth(a[i], b[i], depth+1)
	}
	switch {
	case len(a) < len(b):
		return -1, nil
	case len(a) > len(b):
		return 1, nil
	}
	return 0, nil
}

func asString(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case Markup:
		return string(v), true
	}
	return "", false
}

// items returns the elements Python's iter(v) yields: characters of a
// string, keys of a dict, elements of a list or tuple.
func items(v any) ([]any, error) {
	switch v := v.(type) {
	case *List:
		return v.Items, nil
	case Tuple:
		return v, nil
	case *Dict:
		return v.keys, nil
	case string:
		return stringChars(v), nil
	case Markup:
		return stringChars(string(v)), nil
	case undefined:
		return nil, nil
	case iterable:
		return v.items(), nil
	}
	return nil, typeErrorf("'%s' object is not iterable", typeName(v))
}

// iterable is implemented by helper objects that can be looped over.
type iterable interface{ items() []any }

func stringChars(s string) []any {
	out := make([]any, 0, len(s))
	for _, r := range s {
		out = append(out, string(r))
	}
	return out
}

// length is Python's len(v).
func length(v any) (int, error) {
	switch v := v.(type) {
	case string:
		return utf8.RuneCountInString(v), nil
	case Markup:
		return utf8.RuneCountInString(string(v)), nil
	case *List:
		return len(v.Items), nil
	case Tuple:
		return len(v), nil
	case *Dict:
		return v.Len(), nil
	case undefined:
		return 0, nil
	}
	return 0, typeErrorf("object of type '%s' has no len()", typeName(v))
}

// contains is Python's "needle in haystack".
func contains(haystack, needle any) (bool, error) {
	switch h := haystack.(type) {
	case string, Markup:
		n, ok := asString(needle)
		if !ok {
			return false, typeErrorf("'in <string>' requires string as left operand, not %s", typeName(needle))
		}
		return strings.Contains(str(h), n), nil
	case *Dict:
		return h.find(needle) >= 0, nil
	case undefined:
		return false, nil
	}
	list, err := items(haystack)
	if err != nil {
		return false, typeErrorf("argument of type '%s' is not iterable", typeName(haystack))
	}
	for _, x := range list {
		if equal(x, needle) {
			return true, nil
		}
	}
	return false, nil
}
