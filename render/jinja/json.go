package jinja

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeJSON decodes a JSON object of template variables into the form
// Render works best with, the form Python's json.loads gives Jinja2:
// integers stay integers (int64, or *big.Int beyond), other numbers are
// float64, objects are *Dict keeping their key order, arrays are []any.
// Use it for request bodies and variable files so that {{ n }} prints 3,
// not 3.0, and {% for k in obj %} follows the document's order.
func DecodeJSON(data []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("decode variables: %w", err)
	}
	if tok != json.Delim('{') {
		return nil, errors.New("decode variables: expected a JSON object")
	}
	d, err := decodeObject(dec, 0, MaxVariables)
	if err != nil {
		return nil, fmt.Errorf("decode variables: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decode variables: unexpected data after the object")
	}
	out := make(map[string]any, d.Len())
	for i, k := range d.keys {
		out[k.(string)] = d.vals[i]
	}
	return out, nil
}

// MaxVariables is the most variables DecodeJSON takes. An object with more
// members is refused as soon as the one too many is read, before the time
// decoding them all would take is spent (json.Decoder's Token costs about a
// microsecond a value): ErrTooManyVariables.
const MaxVariables = 10_000

// ErrTooManyVariables is DecodeJSON's error for an object of more than
// MaxVariables members.
var ErrTooManyVariables = fmt.Errorf("more than %d variables", MaxVariables)

// DecodeJSONValue decodes any JSON value the way DecodeJSON decodes
// objects.
func DecodeJSONValue(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec, 0)
	if err != nil {
		return nil, fmt.Errorf("decode value: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("decode value: unexpected data after the value")
	}
	return v, nil
}

// maxJSONDepth matches encoding/json's nesting limit.
const maxJSONDepth = maxDataDepth

func decodeValue(dec *json.Decoder, depth int) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	return decodeToken(dec, tok, depth)
}

func decodeToken(dec *json.Decoder, tok json.Token, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, fmt.Errorf("nested deeper than %d", maxJSONDepth)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			return decodeObject(dec, depth+1, 0)
		case '[':
			list := []any{}
			for dec.More() {
				v, err := decodeValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return list, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		return numberValue(string(t))
	case string, bool, nil:
		return t, nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// decodeObject decodes the members of an object whose '{' was read: at
// most limit of them, if limit > 0.
func decodeObject(dec *json.Decoder, depth, limit int) (*Dict, error) {
	d := NewDict(4)
	for n := 1; dec.More(); n++ {
		if limit > 0 && n > limit {
			return nil, ErrTooManyVariables
		}
		kt, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, ok := kt.(string)
		if !ok {
			return nil, fmt.Errorf("object key %v is not a string", kt)
		}
		v, err := decodeValue(dec, depth)
		if err != nil {
			return nil, err
		}
		d.Set(k, v)
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return d, nil
}

// Plain converts a value produced by DecodeJSON (or held by a template)
// into encoding/json's types: map[string]any, []any, float64 or
// json.Number, string, bool, nil. Use it to hand variables to code that
// expects those types, such as a JSON Schema validator.
func Plain(v any) any { return plain(v) }

var specTojson = newSpec("tojson", "indent", nil)

// filterTojson is Jinja2's tojson: json.dumps with sort_keys=True and
// ensure_ascii, then <, >, & and ' escaped for HTML (htmlsafe_json_dumps).
func filterTojson(r *renderer, v any, args []any, kw []kwarg) (any, error) {
	a, err := specTojson.bind(args, kw)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	enc := jsonEncoder{r: r, b: &b, hasIndent: a[0] != nil}
	if enc.hasIndent {
		if enc.indent, err = indentArg("tojson", a[0], "indent too large"); err != nil {
			return nil, err
		}
	}
	if err := enc.encode(v, 0); err != nil {
		return nil, err
	}
	return Markup(b.String()), nil
}

type jsonEncoder struct {
	r         *renderer
	b         *strings.Builder
	indent    string
	hasIndent bool
}

func (e *jsonEncoder) newline(depth int) {
	if e.hasIndent {
		e.b.WriteByte('\n')
		for range depth {
			e.b.WriteString(e.indent)
		}
	}
}

func (e *jsonEncoder) sep() string {
	if e.hasIndent {
		return ","
	}
	return ", "
}

func (e *jsonEncoder) encode(v any, depth int) error {
	if depth > maxDataDepth {
		return valueErrorf("Circular reference detected")
	}
	if err := e.r.checkLen(e.b.Len()); err != nil {
		return err
	}
	switch x := v.(type) {
	case nil:
		e.b.WriteString("null")
	case bool:
		if x {
			e.b.WriteString("true")
		} else {
			e.b.WriteString("false")
		}
	case int64, *big.Int:
		e.b.WriteString(str(x))
	case float64:
		switch {
		case math.IsInf(x, 1):
			e.b.WriteString("Infinity")
		case math.IsInf(x, -1):
			e.b.WriteString("-Infinity")
		case math.IsNaN(x):
			e.b.WriteString("NaN")
		default:
			e.b.WriteString(formatFloat(x))
		}
	case string:
		writeJSONString(e.b, x)
	case Markup:
		writeJSONString(e.b, string(x))
	case *List:
		return e.array(x.Items, depth)
	case Tuple:
		return e.array(x, depth)
	case *Dict:
		return e.object(x, depth)
	case *namespace:
		return e.object(x.attrs, depth)
	case undefined:
		return typeErrorf("Object of type Undefined is not JSON serializable")
	default:
		return typeErrorf("Object of type %s is not JSON serializable", typeName(v))
	}
	return nil
}

// container writes n members between the brackets start and end, laid
// out as json.dumps does; member(i) writes the i-th.
func (e *jsonEncoder) container(start, end byte, n, depth int, member func(i int) error) error {
	e.b.WriteByte(start)
	if n == 0 {
		e.b.WriteByte(end)
		return nil
	}
	for i := range n {
		if i > 0 {
			e.b.WriteString(e.sep())
		}
		e.newline(depth + 1)
		if err := member(i); err != nil {
			return err
		}
	}
	e.newline(depth)
	e.b.WriteByte(end)
	return nil
}

func (e *jsonEncoder) array(items []any, depth int) error {
	return e.container('[', ']', len(items), depth, func(i int) error {
		return e.encode(items[i], depth+1)
	})
}

func (e *jsonEncoder) object(d *Dict, depth int) error {
	idx, err := keyOrder(d)
	if err != nil {
		return err
	}
	return e.container('{', '}', len(idx), depth, func(n int) error {
		i := idx[n]
		var key string
		switch k := d.keys[i].(type) {
		case string:
			key = k
		case Markup:
			key = string(k)
		case nil:
			key = "null"
		case bool:
			key = map[bool]string{true: "true", false: "false"}[k]
		case int64, float64, *big.Int:
			key = str(k)
		default:
			return typeErrorf("keys must be str, int, float, bool or None, not %s", typeName(k))
		}
		writeJSONString(e.b, key)
		e.b.WriteString(": ")
		return e.encode(d.vals[i], depth+1)
	})
}

// writeJSONString writes s as json.dumps(ensure_ascii=True) does, with
// Jinja2's HTML-safe escapes of <, >, & and '.
func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, c := range s {
		switch c {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		case '<', '>', '&', '\'':
			fmt.Fprintf(b, `\u%04x`, c)
		default:
			switch {
			case c < 0x20 || (c >= 0x7f && c < 0x10000):
				if c < 0x7f {
					fmt.Fprintf(b, `\u%04x`, c)
				} else if c == 0x7f {
					b.WriteRune(c)
				} else {
					fmt.Fprintf(b, `\u%04x`, c)
				}
			case c >= 0x10000:
				r1, r2 := utf16.EncodeRune(c)
				fmt.Fprintf(b, `\u%04x\u%04x`, r1, r2)
			case c == utf8.RuneError:
				b.WriteString(`\ufffd`)
			default:
				b.WriteRune(c)
			}
		}
	}
	b.WriteByte('"')
}
