package jinja

import (
	"math"
	"math/big"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// Python's methods of str, list and dict that templates call, e.g.
// {{ name.strip().split(",", 1) }}.

type strMethod func(r *renderer, s string, args []any, kw []kwarg) (any, error)

var strMethods = map[string]strMethod{
	"upper": func(_ *renderer, s string, a []any, k []kwarg) (any, error) { return noArgs("upper", a, k, upper(s)) },
	"lower": func(_ *renderer, s string, a []any, k []kwarg) (any, error) { return noArgs("lower", a, k, lower(s)) },
	"casefold": func(_ *renderer, s string, a []any, k []kwarg) (any, error) {
		return noArgs("casefold", a, k, lower(s))
	},
	"capitalize": func(_ *renderer, s string, a []any, k []kwarg) (any, error) {
		return noArgs("capitalize", a, k, capitalize(s))
	},
	"title": func(_ *renderer, s string, a []any, k []kwarg) (any, error) { return noArgs("title", a, k, pyTitle(s)) },
	"swapcase": func(_ *renderer, s string, a []any, k []kwarg) (any, error) {
		return noArgs("swapcase", a, k, swapcase(s))
	},
	"isalpha":     predicate("isalpha", unicode.IsLetter),
	"isdigit":     predicate("isdigit", unicode.IsDigit),
	"isdecimal":   predicate("isdecimal", unicode.IsDigit),
	"isnumeric":   predicate("isnumeric", unicode.IsNumber),
	"isalnum":     predicate("isalnum", func(c rune) bool { return unicode.IsLetter(c) || unicode.IsNumber(c) }),
	"isspace":     predicate("isspace", unicode.IsSpace),
	"isprintable": predicate("isprintable", unicode.IsPrint),
	"isascii": func(_ *renderer, s string, a []any, k []kwarg) (any, error) {
		return noArgs("isascii", a, k, isASCII(s))
	},
	"islower": func(_ *renderer, s string, a []any, k []kwarg) (any, error) {
		return noArgs("islower", a, k, isLower(s))
	},
	"isupper": func(_ *renderer, s string, a []any, k []kwarg) (any, error) {
		return noArgs("isupper", a, k, isUpper(s))
	},
	"istitle": func(_ *renderer, s string, a []any, k []kwarg) (any, error) {
		return noArgs("istitle", a, k, s != "" && pyTitle(s) == s && isCased(s))
	},
	"isidentifier": func(_ *renderer, s string, a []any, k []kwarg) (any, error) {
		return noArgs("isidentifier", a, k, isIdentifier(s))
	},
	"strip":      stripMethod("strip", strings.Trim, strings.TrimFunc),
	"lstrip":     stripMethod("lstrip", strings.TrimLeft, strings.TrimLeftFunc),
	"rstrip":     stripMethod("rstrip", strings.TrimRight, strings.TrimRightFunc),
	"split":      splitMethod("split", false),
	"rsplit":     splitMethod("rsplit", true),
	"splitlines": methodSplitlines,
	"replace":    methodReplace,
	"startswith": affixMethod("startswith", strings.HasPrefix),
	"endswith":   affixMethod("endswith", strings.HasSuffix),
	"find":       findMethod("find", false, false),
	"rfind":      findMethod("rfind", true, false),
	"index":      findMethod("index", false, true),
	"rindex":     findMethod("rindex", true, true),
	"count":      methodCount,
	"join":       methodJoin,
	"format":     methodFormat,
	"center":     padMethod("center", 0),
	"ljust":      padMethod("ljust", -1),
	"rjust":      padMethod("rjust", 1),
	"zfill":      methodZfill,
	"partition":  partitionMethod("partition", false),
	"rpartition": partitionMethod("rpartition", true),
	"removeprefix": func(_ *renderer, s string, a []any, k []kwarg) (any, error) {
		return affixRemove("removeprefix", s, a, k, strings.TrimPrefix)
	},
	"removesuffix": func(_ *renderer, s string, a []any, k []kwarg) (any, error) {
		return affixRemove("removesuffix", s, a, k, strings.TrimSuffix)
	},
	"expandtabs": methodExpandtabs,
}

var listMethods = map[string]bool{
	"append": true, "extend": true, "insert": true, "pop": true, "remove": true, "index": true,
	"count": true, "reverse": true, "sort": true, "copy": true, "clear": true,
}

// tupleMethods are the list methods that do not modify the list.
var tupleMethods = map[string]bool{"index": true, "count": true}

var dictMethods = map[string]bool{
	"items": true, "keys": true, "values": true, "get": true, "pop": true, "update": true,
	"setdefault": true, "copy": true, "clear": true, "popitem": true,
}

func (r *renderer) hasMethod(recv any, name string) bool {
	switch recv.(type) {
	case string, Markup:
		return r.strMethods[name] != nil
	case *List:
		return listMethods[name]
	case Tuple:
		return tupleMethods[name]
	case *Dict:
		return dictMethods[name]
	case *loopInfo:
		return name == "cycle" || name == "changed"
	case *cycler:
		return name == "next" || name == "reset"
	case float64:
		return name == "is_integer"
	case int64:
		return name == "bit_length"
	}
	return false
}

func (r *renderer) callMethod(recv any, name string, args []any, kw []kwarg) (any, error) {
	switch o := recv.(type) {
	case string:
		return r.strMethods[name](r, o, args, kw)
	case Markup:
		v, err := r.strMethods[name](r, string(o), args, kw)
		if s, ok := v.(string); ok && err == nil {
			return Markup(s), nil
		}
		return v, err
	case *List:
		return r.listMethod(o, name, args, kw)
	case Tuple:
		if !tupleMethods[name] {
			break
		}
		return r.listMethod(&List{Items: o}, name, args, kw)
	case *Dict:
		return r.dictMethod(o, name, args, kw)
	case *loopInfo:
		return o.method(name, args, kw)
	case *cycler:
		return o.method(name, args, kw)
	case float64:
		return noArgs(name, args, kw, o == math.Trunc(o) && !math.IsInf(o, 0))
	case int64:
		return noArgs(name, args, kw, int64(big.NewInt(o).BitLen()))
	}
	return nil, typeErrorf("'%s' object has no attribute '%s'", typeName(recv), name)
}

func noArgs(name string, args []any, kw []kwarg, v any) (any, error) {
	if len(args) > 0 || len(kw) > 0 {
		return nil, typeErrorf("%s() takes no arguments (%d given)", name, len(args)+len(kw))
	}
	return v, nil
}

func predicate(name string, fn func(rune) bool) strMethod {
	return func(_ *renderer, s string, args []any, kw []kwarg) (any, error) {
		ok := s != ""
		for _, c := range s {
			if !fn(c) {
				ok = false
				break
			}
		}
		return noArgs(name, args, kw, ok)
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func upper(s string) string {
	if isASCII(s) {
		return strings.ToUpper(s)
	}
	return cases.Upper(language.Und).String(s)
}

func lower(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	return cases.Lower(language.Und).String(s)
}

// capitalize is str.capitalize: first character title case, rest lower.
func capitalize(s string) string {
	if s == "" {
		return s
	}
	c, n := utf8.DecodeRuneInString(s)
	first := string(c)
	if c < utf8.RuneSelf {
		first = strings.ToUpper(first)
	} else {
		first = cases.Title(language.Und).String(first)
	}
	return first + lower(s[n:])
}

// pyTitle is str.title: a cased character after an uncased one is
// title-cased, the others lower-cased.
func pyTitle(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	prevCased := false
	for _, c := range s {
		cased := unicode.IsUpper(c) || unicode.IsLower(c) || unicode.IsTitle(c)
		switch {
		case cased && !prevCased:
			if c == 'ß' {
				b.WriteString("Ss")
			} else {
				b.WriteRune(unicode.ToTitle(c))
			}
		case cased:
			b.WriteString(lower(string(c)))
		default:
			b.WriteRune(c)
		}
		prevCased = cased
	}
	return b.String()
}

func swapcase(s string) string {
	return strings.Map(func(c rune) rune {
		switch {
		case unicode.IsUpper(c):
			return unicode.ToLower(c)
		case unicode.IsLower(c):
			return unicode.ToUpper(c)
		}
		return c
	}, s)
}

func isCased(s string) bool {
	for _, c := range s {
		if unicode.IsUpper(c) || unicode.IsLower(c) || unicode.IsTitle(c) {
			return true
		}
	}
	return false
}

func isLower(s string) bool {
	cased := false
	for _, c := range s {
		if unicode.IsUpper(c) || unicode.IsTitle(c) {
			return false
		}
		if unicode.IsLower(c) {
			cased = true
		}
	}
	return cased
}

func isUpper(s string) bool {
	cased := false
	for _, c := range s {
		if unicode.IsLower(c) || unicode.IsTitle(c) {
			return false
		}
		if unicode.IsUpper(c) {
			cased = true
		}
	}
	return cased
}

func isIdentifier(s string) bool {
	for i, c := range s {
		if c == '_' || unicode.IsLetter(c) || (i > 0 && (unicode.IsDigit(c) || unicode.Is(unicode.Mn, c))) {
			continue
		}
		return false
	}
	return s != ""
}

func stripMethod(name string, trim func(string, string) string, trimFunc func(string, func(rune) bool) string) strMethod {
	sp := newSpec(name, "chars", nil)
	return func(_ *renderer, s string, args []any, kw []kwarg) (any, error) {
		a, err := sp.bind(args, kw)
		if err != nil {
			return nil, err
		}
		return strip(name, s, a[0], trim, trimFunc)
	}
}

// strip is str.strip(chars) (or lstrip, rstrip, with the matching trim
// functions): chars None strips whitespace.
func strip(fname, s string, chars any, trim func(string, string) string, trimFunc func(string, func(rune) bool) string) (any, error) {
	cs, ok, err := argOptStr(fname, chars)
	if err != nil {
		return nil, err
	}
	if !ok {
		return trimFunc(s, unicode.IsSpace), nil
	}
	return trim(s, cs), nil
}

func splitMethod(name string, fromRight bool) strMethod {
	sp := newSpec(name, "sep", nil, "maxsplit", int64(-1))
	return func(r *renderer, s string, args []any, kw []kwarg) (any, error) {
		a, err := sp.bind(args, kw)
		if err != nil {
			return nil, err
		}
		sep, hasSep, err := argOptStr(name, a[0])
		if err != nil {
			return nil, err
		}
		maxsplit, err := argInt(name, a[1])
		if err != nil {
			return nil, err
		}
		var parts []string
		switch {
		case hasSep && sep == "":
			return nil, valueErrorf("empty separator")
		case hasSep && !fromRight:
			parts = strings.SplitN(s, sep, splitN(maxsplit))
		case hasSep:
			parts = rsplitN(s, sep, maxsplit)
		default:
			parts = splitWhitespace(s, maxsplit, fromRight)
		}
		if err := r.grow(len(parts)); err != nil {
			return nil, err
		}
		return strList(parts), nil
	}
}

func splitN(maxsplit int64) int {
	if maxsplit < 0 {
		return -1
	}
	return int(maxsplit) + 1
}

func rsplitN(s, sep string, maxsplit int64) []string {
	if maxsplit < 0 {
		return strings.Split(s, sep)
	}
	var parts []string
	for int64(len(parts)) < maxsplit {
		i := strings.LastIndex(s, sep)
		if i < 0 {
			break
		}
		parts = append(parts, s[i+len(sep):])
		s = s[:i]
	}
	parts = append(parts, s)
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return parts
}

// splitWhitespace is str.split() / str.rsplit() without a separator.
func splitWhitespace(s string, maxsplit int64, fromRight bool) []string {
	if maxsplit < 0 {
		return strings.Fields(s)
	}
	var parts []string
	if !fromRight {
		rest := strings.TrimLeftFunc(s, unicode.IsSpace)
		for rest != "" {
			if int64(len(parts)) == maxsplit {
				parts = append(parts, rest)
				break
			}
			i := strings.IndexFunc(rest, unicode.IsSpace)
			if i < 0 {
				parts = append(parts, rest)
				break
			}
			parts = append(parts, rest[:i])
			rest = strings.TrimLeftFunc(rest[i:], unicode.IsSpace)
		}
		return parts
	}
	rest := strings.TrimRightFunc(s, unicode.IsSpace)
	for rest != "" {
		if int64(len(parts)) == maxsplit {
			parts = append(parts, rest)
			break
		}
		i := strings.LastIndexFunc(rest, unicode.IsSpace)
		if i < 0 {
			parts = append(parts, rest)
			break
		}
		_, n := utf8.DecodeRuneInString(rest[i:])
		parts = append(parts, rest[i+n:])
		rest = strings.TrimRightFunc(rest[:i], unicode.IsSpace)
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return parts
}

var specSplitlines = newSpec("splitlines", "keepends", false)

func methodSplitlines(r *renderer, s string, args []any, kw []kwarg) (any, error) {
	a, err := specSplitlines.bind(args, kw)
	if err != nil {
		return nil, err
	}
	lines := splitLines(s, truthy(a[0]))
	if err := r.grow(len(lines)); err != nil {
		return nil, err
	}
	return strList(lines), nil
}

var specReplace = newSpec("replace", "old", required, "new", required, "count", int64(-1))

func methodReplace(r *renderer, s string, args []any, kw []kwarg) (any, error) {
	a, err := specReplace.bind(args, kw)
	if err != nil {
		return nil, err
	}
	old, err := argStr("replace", a[0])
	if err != nil {
		return nil, err
	}
	repl, err := argStr("replace", a[1])
	if err != nil {
		return nil, err
	}
	count, err := argInt("replace", a[2])
	if err != nil {
		return nil, err
	}
	return r.replace(s, old, repl, count)
}

// replace is str.replace with the output limit applied before building.
func (r *renderer) replace(s, old, repl string, count int64) (string, error) {
	n := strings.Count(s, old)
	if count >= 0 && int64(n) > count {
		n = int(count)
	}
	if err := r.checkLen(len(s) + n*(len(repl)-len(old))); err != nil {
		return "", err
	}
	if count < 0 {
		return strings.ReplaceAll(s, old, repl), nil
	}
	return strings.Replace(s, old, repl, int(count)), nil
}

func affixMethod(name string, has func(string, string) bool) strMethod {
	sp := newSpec(name, "prefix", required, "start", nil, "end", nil)
	return func(_ *renderer, s string, args []any, kw []kwarg) (any, error) {
		a, err := sp.bind(args, kw)
		if err != nil {
			return nil, err
		}
		sub, err := runeRange(name, s, a[1], a[2])
		if err != nil {
			return nil, err
		}
		var candidates []any
		switch p := a[0].(type) {
		case Tuple:
			candidates = p
		case *List:
			return nil, typeErrorf("%s first arg must be str or a tuple of str, not list", name)
		default:
			candidates = []any{p}
		}
		for _, c := range candidates {
			cs, err := argStr(name, c)
			if err != nil {
				return nil, typeErrorf("%s first arg must be str or a tuple of str, not %s", name, typeName(c))
			}
			if has(sub, cs) {
				return true, nil
			}
		}
		return false, nil
	}
}

// runeRange returns s[start:end] with Python's character indices.
func runeRange(name, s string, start, end any) (string, error) {
	if start == nil && end == nil {
		return s, nil
	}
	v, err := sliceValue(s, start, end, nil)
	if err != nil {
		return "", err
	}
	return v.(string), nil
}

func findMethod(name string, fromRight, raise bool) strMethod {
	sp := newSpec(name, "sub", required, "start", nil, "end", nil)
	return func(_ *renderer, s string, args []any, kw []kwarg) (any, error) {
		a, err := sp.bind(args, kw)
		if err != nil {
			return nil, err
		}
		sub, err := argStr(name, a[0])
		if err != nil {
			return nil, err
		}
		offset := int64(0)
		if a[1] != nil {
			start, err := argInt(name, a[1])
			if err != nil {
				return nil, err
			}
			n := int64(utf8.RuneCountInString(s))
			if start < 0 {
				start = max(start+n, 0)
			}
			offset = min(start, n)
		}
		hay, err := runeRange(name, s, a[1], a[2])
		if err != nil {
			return nil, err
		}
		var i int
		if fromRight {
			i = strings.LastIndex(hay, sub)
		} else {
			i = strings.Index(hay, sub)
		}
		if i < 0 {
			if raise {
				return nil, valueErrorf("substring not found")
			}
			return int64(-1), nil
		}
		return offset + int64(utf8.RuneCountInString(hay[:i])), nil
	}
}

var specCount = newSpec("count", "sub", required, "start", nil, "end", nil)

func methodCount(_ *renderer, s string, args []any, kw []kwarg) (any, error) {
	a, err := specCount.bind(args, kw)
	if err != nil {
		return nil, err
	}
	sub, err := argStr("count", a[0])
	if err != nil {
		return nil, err
	}
	hay, err := runeRange("count", s, a[1], a[2])
	if err != nil {
		return nil, err
	}
	return int64(strings.Count(hay, sub)), nil
}

var specJoin = newSpec("join", "iterable", required)

func methodJoin(r *renderer, s string, args []any, kw []kwarg) (any, error) {
	a, err := specJoin.bind(args, kw)
	if err != nil {
		return nil, err
	}
	list, err := r.iterate(a[0])
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	for i, x := range list {
		xs, ok := asString(x)
		if !ok {
			return nil, typeErrorf("sequence item %d: expected str instance, %s found", i, typeName(x))
		}
		if i > 0 {
			b.WriteString(s)
		}
		b.WriteString(xs)
		if err := r.checkLen(b.Len()); err != nil {
			return nil, err
		}
	}
	return b.String(), nil
}

func methodFormat(r *renderer, s string, args []any, kw []kwarg) (any, error) {
	return r.strFormat(s, args, kw)
}

func padMethod(name string, align int) strMethod {
	sp := newSpec(name, "width", required, "fillchar", " ")
	return func(r *renderer, s string, args []any, kw []kwarg) (any, error) {
		a, err := sp.bind(args, kw)
		if err != nil {
			return nil, err
		}
		width, err := argInt(name, a[0])
		if err != nil {
			return nil, err
		}
		fill, err := argStr(name, a[1])
		if err != nil {
			return nil, err
		}
		if utf8.RuneCountInString(fill) != 1 {
			return nil, typeErrorf("The fill character must be exactly one character long")
		}
		return r.pad(s, width, fill, align)
	}
}

// pad is str.center (align 0), ljust (-1) and rjust (1).
func (r *renderer) pad(s string, width int64, fill string, align int) (string, error) {
	n := int64(utf8.RuneCountInString(s))
	if width <= n {
		return s, nil
	}
	if err := r.checkLen(int(min(width, int64(r.opts.MaxOutput)+1)) * len(fill)); err != nil {
		return "", err
	}
	total := int(width - n)
	var left int
	switch align {
	case -1:
		left = 0
	case 1:
		left = total
	default:
		// CPython: left = total/2 + (total & width & 1)
		left = total/2 + (total & int(width) & 1)
	}
	return strings.Repeat(fill, left) + s + strings.Repeat(fill, total-left), nil
}

var specZfill = newSpec("zfill", "width", required)

func methodZfill(r *renderer, s string, args []any, kw []kwarg) (any, error) {
	a, err := specZfill.bind(args, kw)
	if err != nil {
		return nil, err
	}
	width, err := argInt("zfill", a[0])
	if err != nil {
		return nil, err
	}
	sign := ""
	if s != "" && (s[0] == '-' || s[0] == '+') {
		sign, s = s[:1], s[1:]
		width--
	}
	padded, err := r.pad(s, width, "0", 1)
	return sign + padded, err
}

func partitionMethod(name string, fromRight bool) strMethod {
	sp := newSpec(name, "sep", required)
	return func(_ *renderer, s string, args []any, kw []kwarg) (any, error) {
		a, err := sp.bind(args, kw)
		if err != nil {
			return nil, err
		}
		sep, err := argStr(name, a[0])
		if err != nil {
			return nil, err
		}
		if sep == "" {
			return nil, valueErrorf("empty separator")
		}
		var i int
		if fromRight {
			i = strings.LastIndex(s, sep)
		} else {
			i = strings.Index(s, sep)
		}
		if i < 0 {
			if fromRight {
				return Tuple{"", "", s}, nil
			}
			return Tuple{s, "", ""}, nil
		}
		return Tuple{s[:i], sep, s[i+len(sep):]}, nil
	}
}

func affixRemove(name, s string, args []any, kw []kwarg, trim func(string, string) string) (any, error) {
	if len(args) != 1 || len(kw) != 0 {
		return nil, typeErrorf("%s() takes exactly one argument", name)
	}
	affix, err := argStr(name, args[0])
	if err != nil {
		return nil, err
	}
	return trim(s, affix), nil
}

var specExpandtabs = newSpec("expandtabs", "tabsize", int64(8))

func methodExpandtabs(r *renderer, s string, args []any, kw []kwarg) (any, error) {
	a, err := specExpandtabs.bind(args, kw)
	if err != nil {
		return nil, err
	}
	size, err := argInt("expandtabs", a[0])
	if err != nil {
		return nil, err
	}
	size = min(max(size, 0), maxFormatWidth)
	var b strings.Builder
	col := int64(0)
	for _, c := range s {
		switch c {
		case '\t':
			if size > 0 {
				n := size - col%size
				b.WriteString(strings.Repeat(" ", int(n)))
				col += n
			}
		case '\n', '\r':
			b.WriteRune(c)
			col = 0
		default:
			b.WriteRune(c)
			col++
		}
		if err := r.checkLen(b.Len()); err != nil {
			return nil, err
		}
	}
	return b.String(), nil
}

var (
	specListInsert = newSpec("insert", "index", required, "object", required)
	specListPop    = newSpec("pop", "index", int64(-1))
	specListSort   = newSpec("sort", "reverse", false)
	specDictGet    = newSpec("get", "key", required, "default", nil)
	specDictPop    = newSpec("pop", "key", required, "default", required)
)

func (r *renderer) listMethod(l *List, name string, args []any, kw []kwarg) (any, error) {
	one := func() (any, error) {
		if len(args) != 1 || len(kw) != 0 {
			return nil, typeErrorf("%s() takes exactly one argument (%d given)", name, len(args)+len(kw))
		}
		return args[0], nil
	}
	switch name {
	case "append":
		v, err := one()
		if err != nil {
			return nil, err
		}
		if err := r.grow(1); err != nil {
			return nil, err
		}
		l.Items = append(l.Items, v)
		return nil, nil
	case "extend":
		v, err := one()
		if err != nil {
			return nil, err
		}
		more, err := r.iterate(v)
		if err != nil {
			return nil, err
		}
		if err := r.grow(len(more)); err != nil {
			return nil, err
		}
		l.Items = append(l.Items, more...)
		return nil, nil
	case "insert":
		a, err := specListInsert.bind(args, kw)
		if err != nil {
			return nil, err
		}
		i, err := argInt("insert", a[0])
		if err != nil {
			return nil, err
		}
		if err := r.grow(1); err != nil {
			return nil, err
		}
		n := int64(len(l.Items))
		if i < 0 {
			i = max(i+n, 0)
		}
		i = min(i, n)
		l.Items = append(l.Items, nil)
		copy(l.Items[i+1:], l.Items[i:])
		l.Items[i] = a[1]
		return nil, nil
	case "pop":
		a, err := specListPop.bind(args, kw)
		if err != nil {
			return nil, err
		}
		if len(l.Items) == 0 {
			return nil, &RenderError{Kind: "IndexError", Msg: "pop from empty list"}
		}
		i, ok := indexOf(a[0], len(l.Items))
		if !ok {
			return nil, &RenderError{Kind: "IndexError", Msg: "pop index out of range"}
		}
		v := l.Items[i]
		l.Items = append(l.Items[:i], l.Items[i+1:]...)
		return v, nil
	case "remove", "index", "count":
		v, err := one()
		if err != nil && name != "index" {
			return nil, err
		}
		if name == "index" && len(args) >= 1 {
			v = args[0]
		}
		n := 0
		for i, x := range l.Items {
			if !equal(x, v) {
				continue
			}
			switch name {
			case "remove":
				l.Items = append(l.Items[:i], l.Items[i+1:]...)
				return nil, nil
			case "index":
				return int64(i), nil
			}
			n++
		}
		if name == "count" {
			return int64(n), nil
		}
		return nil, valueErrorf("%s is not in list", repr(v))
	case "reverse":
		for i, j := 0, len(l.Items)-1; i < j; i, j = i+1, j-1 {
			l.Items[i], l.Items[j] = l.Items[j], l.Items[i]
		}
		return noArgs(name, args, kw, nil)
	case "sort":
		a, err := specListSort.bind(args, kw)
		if err != nil {
			return nil, err
		}
		sorted, err := sortValues(l.Items, truthy(a[0]), true, nil)
		if err != nil {
			return nil, err
		}
		l.Items = sorted
		return nil, nil
	case "copy":
		return noArgs(name, args, kw, &List{Items: append([]any(nil), l.Items...)})
	case "clear":
		l.Items = l.Items[:0]
		return noArgs(name, args, kw, nil)
	}
	return nil, typeErrorf("'list' object has no attribute '%s'", name)
}

func (r *renderer) dictMethod(d *Dict, name string, args []any, kw []kwarg) (any, error) {
	switch name {
	case "items":
		out := make([]any, d.Len())
		for i, k := range d.keys {
			out[i] = Tuple{k, d.vals[i]}
		}
		return noArgs(name, args, kw, &List{Items: out})
	case "keys":
		return noArgs(name, args, kw, &List{Items: append([]any(nil), d.keys...)})
	case "values":
		return noArgs(name, args, kw, &List{Items: append([]any(nil), d.vals...)})
	case "get":
		a, err := specDictGet.bind(args, kw)
		if err != nil {
			return nil, err
		}
		if v, ok := d.Get(a[0]); ok {
			return v, nil
		}
		return a[1], nil
	case "pop":
		if len(args) == 1 && len(kw) == 0 {
			v, ok := d.Get(args[0])
			if !ok {
				return nil, &RenderError{Kind: "KeyError", Msg: repr(args[0])}
			}
			d.Delete(args[0])
			return v, nil
		}
		a, err := specDictPop.bind(args, kw)
		if err != nil {
			return nil, err
		}
		v, ok := d.Get(a[0])
		if !ok {
			return a[1], nil
		}
		d.Delete(a[0])
		return v, nil
	case "setdefault":
		if len(args) < 1 || len(args) > 2 {
			return nil, typeErrorf("setdefault expected 1 or 2 arguments")
		}
		if v, ok := d.Get(args[0]); ok {
			return v, nil
		}
		if err := hashable(args[0]); err != nil {
			return nil, err
		}
		var def any
		if len(args) == 2 {
			def = args[1]
		}
		d.Set(args[0], def)
		return def, nil
	case "update":
		for _, a := range args {
			switch o := a.(type) {
			case *Dict:
				for i, k := range o.keys {
					d.Set(k, o.vals[i])
				}
			default:
				pairs, err := r.iterate(a)
				if err != nil {
					return nil, err
				}
				for _, p := range pairs {
					kv, err := r.iterate(p)
					if err != nil || len(kv) != 2 {
						return nil, valueErrorf("dictionary update sequence element has wrong length")
					}
					if err := hashable(kv[0]); err != nil {
						return nil, err
					}
					d.Set(kv[0], kv[1])
				}
			}
		}
		for _, k := range kw {
			d.Set(k.name, k.val)
		}
		if err := r.grow(d.Len()); err != nil {
			return nil, err
		}
		return nil, nil
	case "copy":
		c := NewDict(d.Len())
		for i, k := range d.keys {
			c.Set(k, d.vals[i])
		}
		return noArgs(name, args, kw, c)
	case "clear":
		d.keys, d.vals, d.index = d.keys[:0], d.vals[:0], nil
		return noArgs(name, args, kw, nil)
	case "popitem":
		if d.Len() == 0 {
			return nil, &RenderError{Kind: "KeyError", Msg: "'popitem(): dictionary is empty'"}
		}
		k, v := d.keys[d.Len()-1], d.vals[d.Len()-1]
		d.Delete(k)
		return noArgs(name, args, kw, Tuple{k, v})
	}
	return nil, typeErrorf("'dict' object has no attribute '%s'", name)
}

func (l *loopInfo) method(name string, args []any, kw []kwarg) (any, error) {
	if len(kw) > 0 {
		return nil, typeErrorf("loop.%s() takes no keyword arguments", name)
	}
	switch name {
	case "cycle":
		if len(args) == 0 {
			return nil, typeErrorf("no items for cycling given")
		}
		return args[l.index0%len(args)], nil
	case "changed":
		var v any = Tuple(append([]any(nil), args...))
		changed := !l.seen || !equal(l.lastSeen, v)
		l.seen, l.lastSeen = true, v
		return changed, nil
	}
	return nil, typeErrorf("'LoopContext' object has no attribute '%s'", name)
}

// sortValues sorts a copy of list with Python's ordering. Strings compare
// case-insensitively unless caseSensitive; key extracts the sort key.
func sortValues(list []any, reverse, caseSensitive bool, key func(any) (any, error)) ([]any, error) {
	type entry struct {
		key any
		val any
	}
	entries := make([]entry, len(list))
	for i, v := range list {
		k := v
		if key != nil {
			var err error
			if k, err = key(v); err != nil {
				return nil, err
			}
		}
		if !caseSensitive {
			k = foldKey(k)
		}
		entries[i] = entry{k, v}
	}
	var cmpErr error
	sort.SliceStable(entries, func(i, j int) bool {
		a, b := entries[i].key, entries[j].key
		if reverse {
			a, b = b, a
		}
		c, err := compare(a, b)
		if err != nil && cmpErr == nil {
			cmpErr = err
		}
		return c < 0
	})
	if cmpErr != nil {
		return nil, cmpErr
	}
	out := make([]any, len(list))
	for i, e := range entries {
		out[i] = e.val
	}
	return out, nil
}

// foldKey lower-cases strings (Jinja2's ignore_case), also inside tuples.
func foldKey(k any) any {
	switch k := k.(type) {
	case string:
		return lower(k)
	case Markup:
		return lower(string(k))
	case Tuple:
		out := make(Tuple, len(k))
		for i, x := range k {
			out[i] = foldKey(x)
		}
		return out
	}
	return k
}
