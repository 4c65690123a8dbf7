package jinja

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Python's two string formatting languages: printf-style "%s" % args (the
// % operator and the format filter) and str.format.

// percentFormat is Python's format % args.
func (r *renderer) percentFormat(format string, args any) (string, error) {
	var positional []any
	var mapping *Dict
	switch a := args.(type) {
	case Tuple:
		positional = a
	case *Dict:
		mapping = a
		positional = []any{a}
	default:
		positional = []any{a}
	}
	next := 0
	nextArg := func() (any, error) {
		if next >= len(positional) {
			return nil, typeErrorf("not enough arguments for format string")
		}
		v := positional[next]
		next++
		return v, nil
	}
	starArg := func() (int64, error) { // a width or precision given as *
		v, err := nextArg()
		if err != nil {
			return 0, err
		}
		n, err := argInt("*", v)
		if err != nil {
			return 0, typeErrorf("* wants int")
		}
		return n, nil
	}
	usedMapping := false
	var b strings.Builder
	for i := 0; i < len(format); {
		c := format[i]
		if c != '%' {
			j := strings.IndexByte(format[i:], '%')
			if j < 0 {
				j = len(format) - i
			}
			b.WriteString(format[i : i+j])
			i += j
			continue
		}
		start := i
		i++
		if i >= len(format) {
			return "", valueErrorf("incomplete format")
		}
		var key *string
		if format[i] == '(' {
			if mapping == nil {
				return "", typeErrorf("format requires a mapping")
			}
			j := closingBracket(format, i, '(', ')')
			if j < 0 {
				return "", valueErrorf("incomplete format key")
			}
			k := format[i+1 : j-1]
			key = &k
			i = j
			usedMapping = true
		}
		var sp fmtSpec
		for ; i < len(format); i++ {
			switch format[i] {
			case '-':
				sp.left = true
			case '+':
				sp.sign = '+'
			case ' ':
				if sp.sign == 0 {
					sp.sign = ' '
				}
			case '#':
				sp.alt = true
			case '0':
				sp.zero = true
			default:
				goto width
			}
		}
	width:
		if i < len(format) && format[i] == '*' {
			w, err := starArg()
			if err != nil {
				return "", err
			}
			if w < 0 {
				sp.left, w = true, -w
			}
			sp.width = int(w)
			i++
		} else {
			var err error
			if sp.width, i, err = parseCount(format, i, "width"); err != nil {
				return "", err
			}
		}
		sp.prec = -1
		if i < len(format) && format[i] == '.' {
			i++
			if i < len(format) && format[i] == '*' {
				p, err := starArg()
				if err != nil {
					return "", err
				}
				sp.prec = int(max(p, 0))
				i++
			} else {
				var err error
				if sp.prec, i, err = parseCount(format, i, "precision"); err != nil {
					return "", err
				}
			}
		}
		for i < len(format) && strings.IndexByte("hlL", format[i]) >= 0 {
			i++
		}
		if i >= len(format) {
			return "", valueErrorf("incomplete format")
		}
		verb, n := utf8.DecodeRuneInString(format[i:])
		i += n
		if verb == '%' {
			b.WriteByte('%')
			continue
		}
		var v any
		if key != nil {
			val, ok := mapping.Get(*key)
			if !ok {
				return "", &RenderError{Kind: "KeyError", Msg: quote(*key)}
			}
			v = val
		} else {
			var err error
			if v, err = nextArg(); err != nil {
				return "", err
			}
		}
		s, err := r.percentOne(verb, v, sp, start)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
		if err := r.checkLen(b.Len()); err != nil {
			return "", err
		}
	}
	if next < len(positional) && !usedMapping && !(mapping != nil && len(positional) == 1) {
		return "", typeErrorf("not all arguments converted during string formatting")
	}
	return b.String(), nil
}

// closingBracket returns the index just after the bracket that closes the
// one at s[i] (brackets nest), or -1 if it is not closed.
func closingBracket(s string, i int, open, close byte) int {
	depth := 1
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case open:
			depth++
		case close:
			if depth--; depth == 0 {
				return j + 1
			}
		}
	}
	return -1
}

// parseCount reads the decimal digits at s[i:] as a width or precision
// (what) and returns it with the index after them.
func parseCount(s string, i int, what string) (int, int, error) {
	n := 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n = n*10 + int(s[i]-'0'); n > maxFormatWidth {
			return 0, i, &LimitError{Limit: "size", Msg: "format " + what + " too large"}
		}
	}
	return n, i, nil
}

// fmtSpec is a parsed conversion specification.
type fmtSpec struct {
	left, alt, zero bool
	sign            byte // 0, '+' or ' '
	width, prec     int
}

func (r *renderer) percentOne(verb rune, v any, sp fmtSpec, index int) (string, error) {
	switch verb {
	case 's', 'r', 'a':
		var s string
		var err error
		switch verb {
		case 's':
			s, err = r.toStr(v)
		default:
			s = repr(v)
		}
		if err != nil {
			return "", err
		}
		if sp.prec >= 0 {
			s = truncateRunes(s, sp.prec)
		}
		return padSpec(s, sp), nil
	case 'd', 'i', 'u':
		n, err := intForFormat(v, verb)
		if err != nil {
			return "", err
		}
		return numberPad(n.String(), n.Sign() < 0, sp, ""), nil
	case 'o', 'x', 'X':
		n, ok := exactInt(v)
		if !ok {
			return "", typeErrorf("%%%c format: an integer is required, not %s", verb, typeName(v))
		}
		base, prefix := 8, "0o"
		if verb != 'o' {
			base, prefix = 16, "0x"
		}
		digits := new(big.Int).Abs(n).Text(base)
		if verb == 'X' {
			digits, prefix = strings.ToUpper(digits), "0X"
		}
		if !sp.alt {
			prefix = ""
		}
		return numberPad(digitsWithSign(digits, n.Sign() < 0), n.Sign() < 0, sp, prefix), nil
	case 'e', 'E', 'f', 'F', 'g', 'G':
		f, err := floatForFormat(v, verb)
		if err != nil {
			return "", err
		}
		prec := sp.prec
		if prec < 0 {
			prec = 6
		}
		s := formatFloatVerb(f, byte(verb), prec, sp.alt)
		return numberPad(s, math.Signbit(f) && !math.IsNaN(f), sp, ""), nil
	case 'c':
		switch c := v.(type) {
		case int64:
			if c < 0 || c > unicode10ffff {
				return "", &RenderError{Kind: "OverflowError", Msg: "%c arg not in range(0x110000)"}
			}
			return padSpec(string(rune(c)), sp), nil
		case string:
			if utf8.RuneCountInString(c) == 1 {
				return padSpec(c, sp), nil
			}
		}
		return "", typeErrorf("%%c requires int or char")
	}
	return "", valueErrorf("unsupported format character '%c' (0x%x) at index %d", verb, verb, index+1)
}

const unicode10ffff = 0x10ffff

func truncateRunes(s string, n int) string {
	if n >= len(s) {
		return s
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

func digitsWithSign(digits string, neg bool) string {
	if neg {
		return "-" + digits
	}
	return digits
}

func exactInt(v any) (*big.Int, bool) {
	switch n := v.(type) {
	case int64:
		return big.NewInt(n), true
	case bool:
		return big.NewInt(boolInt(n)), true
	case *big.Int:
		return n, true
	}
	return nil, false
}

func intForFormat(v any, verb rune) (*big.Int, error) {
	if n, ok := exactInt(v); ok {
		return n, nil
	}
	switch f := v.(type) {
	case float64:
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, &RenderError{Kind: "OverflowError", Msg: "cannot convert float infinity or NaN to integer"}
		}
		b, _ := new(big.Float).SetFloat64(math.Trunc(f)).Int(nil)
		return b, nil
	case undefined:
		return nil, f.err()
	}
	return nil, typeErrorf("%%%c format: a real number is required, not %s", verb, typeName(v))
}

func floatForFormat(v any, verb rune) (float64, error) {
	switch n := v.(type) {
	case float64:
		return n, nil
	case int64, bool, *big.Int:
		return toFloat(n), nil
	case undefined:
		return 0, n.err()
	}
	return 0, typeErrorf("must be real number, not %s", typeName(v))
}

// formatFloatVerb formats like C's printf for e, f and g.
func formatFloatVerb(f float64, verb byte, prec int, alt bool) string {
	upperCase := verb == 'E' || verb == 'F' || verb == 'G'
	var s string
	switch {
	case math.IsInf(f, 0):
		s = "inf"
		if f < 0 {
			s = "-inf"
		}
	case math.IsNaN(f):
		s = "nan"
	default:
		lv := verb | 0x20
		if lv == 'g' && prec == 0 {
			prec = 1
		}
		s = strconv.FormatFloat(f, lv, prec, 64)
		if lv == 'g' && alt && !strings.ContainsAny(s, ".e") {
			s += "."
		}
		if lv == 'f' && alt && prec == 0 {
			s += "."
		}
	}
	if upperCase {
		s = strings.ToUpper(s)
	}
	return s
}

// numberPad applies sign, zero padding and width to a formatted number
// (which may start with "-").
func numberPad(s string, neg bool, sp fmtSpec, prefix string) string {
	body := strings.TrimPrefix(s, "-")
	sign := ""
	switch {
	case neg:
		sign = "-"
	case sp.sign != 0:
		sign = string(sp.sign)
	}
	lead := sign + prefix
	if sp.zero && !sp.left {
		if n := sp.width - len(lead) - utf8.RuneCountInString(body); n > 0 {
			body = strings.Repeat("0", n) + body
		}
	}
	return padSpec(lead+body, sp)
}

func padSpec(s string, sp fmtSpec) string {
	n := sp.width - utf8.RuneCountInString(s)
	if n <= 0 {
		return s
	}
	if sp.left {
		return s + strings.Repeat(" ", n)
	}
	return strings.Repeat(" ", n) + s
}

// strFormat is Python's str.format.
func (r *renderer) strFormat(format string, args []any, kw []kwarg) (string, error) {
	var b strings.Builder
	auto := 0
	manual := false
	for i := 0; i < len(format); {
		c := format[i]
		switch {
		case c == '{' && i+1 < len(format) && format[i+1] == '{':
			b.WriteByte('{')
			i += 2
			continue
		case c == '}' && i+1 < len(format) && format[i+1] == '}':
			b.WriteByte('}')
			i += 2
			continue
		case c == '}':
			return "", valueErrorf("Single '}' encountered in format string")
		case c != '{':
			j := strings.IndexAny(format[i:], "{}")
			if j < 0 {
				j = len(format) - i
			}
			b.WriteString(format[i : i+j])
			i += j
			continue
		}
		// A replacement field: find the matching brace.
		j := closingBracket(format, i, '{', '}')
		if j < 0 {
			return "", valueErrorf("expected '}' before end of string")
		}
		field := format[i+1 : j-1]
		i = j
		name, spec, _ := strings.Cut(field, ":")
		conv := ""
		if k := strings.IndexByte(name, '!'); k >= 0 {
			name, conv = name[:k], name[k+1:]
		}
		v, err := r.formatField(name, args, kw, &auto, &manual)
		if err != nil {
			return "", err
		}
		if strings.Contains(spec, "{") {
			if spec, err = r.strFormat(spec, args, kw); err != nil {
				return "", err
			}
		}
		switch conv {
		case "":
		case "r", "a":
			v = repr(v)
		case "s":
			if v, err = r.toStr(v); err != nil {
				return "", err
			}
		default:
			return "", valueErrorf("Unknown conversion specifier %s", conv)
		}
		s, err := r.formatValue(v, spec)
		if err != nil {
			return "", err
		}
		b.WriteString(s)
		if err := r.checkLen(b.Len()); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// formatField resolves "0", "name", "name.attr" or "name[key]".
func (r *renderer) formatField(name string, args []any, kw []kwarg, auto *int, manual *bool) (any, error) {
	end := strings.IndexAny(name, ".[")
	if end < 0 {
		end = len(name)
	}
	first, rest := name[:end], name[end:]
	var v any
	switch {
	case first == "":
		if *manual {
			return nil, valueErrorf("cannot switch from manual field specification to automatic field numbering")
		}
		if *auto >= len(args) {
			return nil, &RenderError{Kind: "IndexError", Msg: fmt.Sprintf("Replacement index %d out of range for positional args tuple", *auto)}
		}
		v = args[*auto]
		*auto++
	case first[0] >= '0' && first[0] <= '9':
		if *auto > 0 {
			return nil, valueErrorf("cannot switch from automatic field numbering to manual field specification")
		}
		*manual = true
		n, err := strconv.Atoi(first)
		if err != nil || n >= len(args) {
			return nil, &RenderError{Kind: "IndexError", Msg: fmt.Sprintf("Replacement index %s out of range for positional args tuple", first)}
		}
		v = args[n]
	default:
		found := false
		for _, k := range kw {
			if k.name == first {
				v, found = k.val, true
			}
		}
		if !found {
			return nil, &RenderError{Kind: "KeyError", Msg: quote(first)}
		}
	}
	for rest != "" {
		var err error
		switch rest[0] {
		case '.':
			end := strings.IndexAny(rest[1:], ".[")
			if end < 0 {
				end = len(rest) - 1
			}
			if v, err = r.getAttr(v, rest[1:1+end]); err != nil {
				return nil, err
			}
			rest = rest[1+end:]
		case '[':
			end := strings.IndexByte(rest, ']')
			if end < 0 {
				return nil, valueErrorf("Missing ']' in format string")
			}
			var key any = rest[1:end]
			if n, err := strconv.ParseInt(rest[1:end], 10, 64); err == nil {
				key = n
			}
			if v, err = r.getItem(v, key); err != nil {
				return nil, err
			}
			rest = rest[end+1:]
		default:
			return nil, valueErrorf("Only '.' or '[' may follow ']' in format field specifier")
		}
		if u, ok := v.(undefined); ok {
			return nil, u.err()
		}
	}
	return v, nil
}

// formatValue is Python's format(v, spec).
func (r *renderer) formatValue(v any, spec string) (string, error) {
	if spec == "" {
		return r.toStr(v)
	}
	if u, ok := v.(undefined); ok {
		return "", u.err()
	}
	fill, align := " ", byte(0)
	if n := utf8.RuneCountInString(spec); n >= 2 {
		c, size := utf8.DecodeRuneInString(spec)
		if strings.IndexByte("<>^=", spec[size]) >= 0 {
			fill, align, spec = string(c), spec[size], spec[size+1:]
		}
	}
	if align == 0 && spec != "" && strings.IndexByte("<>^=", spec[0]) >= 0 {
		align, spec = spec[0], spec[1:]
	}
	var sp fmtSpec
	if spec != "" && strings.IndexByte("+- ", spec[0]) >= 0 {
		if spec[0] != '-' {
			sp.sign = spec[0]
		}
		spec = spec[1:]
	}
	spec = strings.TrimPrefix(spec, "z")
	if strings.HasPrefix(spec, "#") {
		sp.alt, spec = true, spec[1:]
	}
	if strings.HasPrefix(spec, "0") {
		if align == 0 {
			fill, align = "0", '='
		}
		spec = spec[1:]
	}
	width, k, err := parseCount(spec, 0, "width")
	if err != nil {
		return "", err
	}
	sp.width, spec = width, spec[k:]
	grouping := ""
	if spec != "" && (spec[0] == ',' || spec[0] == '_') {
		grouping, spec = spec[:1], spec[1:]
	}
	sp.prec = -1
	if strings.HasPrefix(spec, ".") {
		if sp.prec, k, err = parseCount(spec, 1, "precision"); err != nil {
			return "", err
		}
		spec = spec[k:]
	}
	if len(spec) > 1 {
		return "", valueErrorf("Invalid format specifier")
	}
	typ := byte(0)
	if spec != "" {
		typ = spec[0]
	}
	var body string
	numeric := false
	neg := false
	switch {
	case typ == 's' || (typ == 0 && !isNumber(v)):
		s, ok := asString(v)
		if !ok {
			if typ == 's' || sp.prec >= 0 || v == nil || grouping != "" {
				return "", typeErrorf("unsupported format string passed to %s.__format__", typeName(v))
			}
			var err error
			if s, err = r.toStr(v); err != nil {
				return "", err
			}
		}
		if sp.prec >= 0 {
			s = truncateRunes(s, sp.prec)
		}
		body = s
		if align == 0 {
			align = '<'
		}
	case strings.IndexByte("bcdoxXn", typ) >= 0 || (typ == 0 && isIntLike(v)):
		n, ok := exactInt(v)
		if !ok {
			return "", valueErrorf("Unknown format code '%c' for object of type '%s'", typ, typeName(v))
		}
		if _, isBool := v.(bool); isBool && typ == 0 {
			body = str(v)
			break
		}
		numeric, neg = true, n.Sign() < 0
		abs := new(big.Int).Abs(n)
		prefix := ""
		switch typ {
		case 'b':
			body, prefix = abs.Text(2), "0b"
		case 'o':
			body, prefix = abs.Text(8), "0o"
		case 'x':
			body, prefix = abs.Text(16), "0x"
		case 'X':
			body, prefix = strings.ToUpper(abs.Text(16)), "0X"
		case 'c':
			body, numeric = string(rune(abs.Int64())), false
		default:
			body = group(abs.String(), grouping)
		}
		if sp.alt {
			body = prefix + body
		}
	case strings.IndexByte("eEfFgG%", typ) >= 0 || typ == 0:
		f, err := floatForFormat(v, rune(typ))
		if err != nil {
			return "", err
		}
		numeric, neg = true, math.Signbit(f) && !math.IsNaN(f)
		f = math.Abs(f)
		prec := sp.prec
		switch {
		case typ == '%':
			if prec < 0 {
				prec = 6
			}
			body = formatFloatVerb(f*100, 'f', prec, sp.alt) + "%"
		case typ == 0 && prec < 0:
			body = formatFloat(f)
		case typ == 0:
			body = formatFloatVerb(f, 'g', prec, sp.alt)
			if !strings.ContainsAny(body, ".enai") {
				body += ".0"
			}
		default:
			if prec < 0 {
				prec = 6
			}
			body = formatFloatVerb(f, typ, prec, sp.alt)
		}
		if grouping != "" {
			intPart, frac, _ := strings.Cut(body, ".")
			if frac != "" {
				frac = "." + frac
			}
			body = group(intPart, grouping) + frac
		}
	default:
		return "", valueErrorf("Unknown format code '%c' for object of type '%s'", typ, typeName(v))
	}
	sign := ""
	if numeric {
		switch {
		case neg:
			sign = "-"
		case sp.sign != 0:
			sign = string(sp.sign)
		}
		if align == 0 {
			align = '>'
		}
	}
	n := sp.width - utf8.RuneCountInString(sign+body)
	if n <= 0 {
		return sign + body, nil
	}
	pad := strings.Repeat(fill, n)
	switch align {
	case '<':
		return sign + body + pad, nil
	case '^':
		left := strings.Repeat(fill, n/2)
		return left + sign + body + strings.Repeat(fill, n-n/2), nil
	case '=':
		return sign + pad + body, nil
	}
	return pad + sign + body, nil
}

func isIntLike(v any) bool {
	switch v.(type) {
	case int64, *big.Int, bool:
		return true
	}
	return false
}

// group inserts a thousands separator into a run of digits.
func group(digits, sep string) string {
	if sep == "" || len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	first := len(digits) % 3
	if first > 0 {
		b.WriteString(digits[:first])
	}
	for i := first; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}
