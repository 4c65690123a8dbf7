package jinja

import (
	"fmt"
	"math/big"
)

// required marks a parameter without default in a spec.
type requiredArg struct{}

var required any = requiredArg{}

// spec is the signature of a built-in filter, test, global or method:
// parameter names and defaults (required for mandatory ones).
type spec struct {
	name     string
	params   []string
	defaults []any
}

func newSpec(name string, params ...any) *spec {
	s := &spec{name: name}
	for i := 0; i < len(params); i += 2 {
		s.params = append(s.params, params[i].(string))
		s.defaults = append(s.defaults, params[i+1])
	}
	return s
}

// bind matches positional and keyword arguments to the parameters, as
// Python does, and fills in defaults.
func (s *spec) bind(args []any, kw []kwarg) ([]any, error) {
	if len(kw) == 0 && len(args) == len(s.params) {
		return args, nil
	}
	if len(args) > len(s.params) {
		return nil, typeErrorf("%s() takes at most %d argument(s) (%d given)", s.name, len(s.params), len(args))
	}
	out := make([]any, len(s.params))
	copy(out, args)
	for _, k := range kw {
		i := -1
		for j, p := range s.params {
			if p == k.name {
				i = j
				break
			}
		}
		if i < 0 {
			return nil, typeErrorf("%s() got an unexpected keyword argument '%s'", s.name, k.name)
		}
		if i < len(args) {
			return nil, typeErrorf("%s() got multiple values for argument '%s'", s.name, k.name)
		}
		out[i] = kwSet{k.val}
	}
	for i := range out {
		if i < len(args) {
			continue
		}
		if ks, ok := out[i].(kwSet); ok {
			out[i] = ks.v
			continue
		}
		if s.defaults[i] == required {
			return nil, typeErrorf("%s() missing required argument '%s'", s.name, s.params[i])
		}
		out[i] = s.defaults[i]
	}
	return out, nil
}

// kwSet marks a parameter set by keyword during bind (the value may be nil).
type kwSet struct{ v any }

// Argument conversions with Python's errors.

func argInt(fname string, v any) (int64, error) {
	switch v := v.(type) {
	case int64:
		return v, nil
	case bool:
		return boolInt(v), nil
	case *big.Int:
		return 0, &LimitError{Limit: "size", Msg: fmt.Sprintf("%s(): integer argument too large", fname)}
	case undefined:
		return 0, v.err()
	}
	return 0, typeErrorf("%s(): '%s' object cannot be interpreted as an integer", fname, typeName(v))
}

func argStr(fname string, v any) (string, error) {
	return strArg(v, fname+"(): argument must be str, not %s")
}

// argOptInt is an int argument that may be None, which means def.
func argOptInt(fname string, v any, def int64) (int64, error) {
	if v == nil {
		return def, nil
	}
	return argInt(fname, v)
}

// argOptStr is a str argument that may be None.
func argOptStr(fname string, v any) (string, bool, error) {
	if v == nil {
		return "", false, nil
	}
	s, err := argStr(fname, v)
	return s, err == nil, err
}
