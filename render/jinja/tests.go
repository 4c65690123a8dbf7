package jinja

import (
	"math"
	"math/big"

	"github.com/nikolalohinski/gonja/v2/tokens"
)

// testFunc is a built-in test: v is name(args).
type testFunc func(r *renderer, v any, args []any, kw []kwarg) (bool, error)

// tests are Jinja2's built-in tests.
var tests = map[string]testFunc{
	"boolean":     typeTest(func(v any) bool { _, ok := v.(bool); return ok }),
	"callable":    typeTest(isCallable),
	"defined":     typeTest(func(v any) bool { _, ok := v.(undefined); return !ok }),
	"undefined":   typeTest(func(v any) bool { _, ok := v.(undefined); return ok }),
	"none":        typeTest(func(v any) bool { return v == nil }),
	"false":       typeTest(func(v any) bool { b, ok := v.(bool); return ok && !b }),
	"true":        typeTest(func(v any) bool { b, ok := v.(bool); return ok && b }),
	"integer":     typeTest(func(v any) bool { _, i := v.(int64); _, b := v.(*big.Int); return i || b }),
	"float":       typeTest(func(v any) bool { _, ok := v.(float64); return ok }),
	"number":      typeTest(isNumber),
	"string":      typeTest(func(v any) bool { _, ok := asString(v); return ok }),
	"mapping":     typeTest(func(v any) bool { _, ok := v.(*Dict); return ok }),
	"sequence":    typeTest(isSequence),
	"iterable":    typeTest(isIterable),
	"escaped":     typeTest(func(v any) bool { _, ok := v.(Markup); return ok }),
	"lower":       strTest(isLower),
	"upper":       strTest(isUpper),
	"odd":         parityTest(1),
	"even":        parityTest(0),
	"divisibleby": testDivisibleby,
	"sameas":      testSameas,
	"in":          testIn,
	"filter":      nameTest(func(r *renderer, n string) bool { return r.filters[n] != nil }),
	"test":        nameTest(func(r *renderer, n string) bool { return r.tests[n] != nil }),
	"eq":          compareTest(tokens.Equals),
	"equalto":     compareTest(tokens.Equals),
	"==":          compareTest(tokens.Equals),
	"ne":          compareTest(tokens.Ne),
	"!=":          compareTest(tokens.Ne),
	"gt":          compareTest(tokens.GreaterThan),
	"greaterthan": compareTest(tokens.GreaterThan),
	">":           compareTest(tokens.GreaterThan),
	"ge":          compareTest(tokens.GreaterThanOrEqual),
	">=":          compareTest(tokens.GreaterThanOrEqual),
	"lt":          compareTest(tokens.LowerThan),
	"lessthan":    compareTest(tokens.LowerThan),
	"<":           compareTest(tokens.LowerThan),
	"le":          compareTest(tokens.LowerThanOrEqual),
	"<=":          compareTest(tokens.LowerThanOrEqual),
}

func typeTest(fn func(any) bool) testFunc {
	return func(_ *renderer, v any, args []any, kw []kwarg) (bool, error) {
		if len(args) > 0 || len(kw) > 0 {
			return false, typeErrorf("test takes no arguments")
		}
		return fn(v), nil
	}
}

func strTest(fn func(string) bool) testFunc {
	return func(r *renderer, v any, args []any, kw []kwarg) (bool, error) {
		if len(args) > 0 || len(kw) > 0 {
			return false, typeErrorf("test takes no arguments")
		}
		s, err := r.toStr(v)
		if err != nil {
			return false, err
		}
		return fn(s), nil
	}
}

func isCallable(v any) bool {
	switch v.(type) {
	case *macro, builtin, *boundMethod:
		return true
	case *loopInfo:
		return v.(*loopInfo).recurse != nil
	}
	return false
}

func isSequence(v any) bool {
	switch v.(type) {
	case string, Markup, *List, Tuple, *Dict:
		return true
	}
	return false
}

func isIterable(v any) bool {
	switch v.(type) {
	case string, Markup, *List, Tuple, *Dict, *groupTuple:
		return true
	}
	return false
}

func parityTest(rem int64) testFunc {
	return func(_ *renderer, v any, args []any, kw []kwarg) (bool, error) {
		if len(args) > 0 || len(kw) > 0 {
			return false, typeErrorf("test takes no arguments")
		}
		m, err := arith(tokens.Modulo, v, int64(2))
		if err != nil {
			if u, ok := v.(undefined); ok {
				return false, u.err()
			}
			return false, err
		}
		return equal(m, rem), nil
	}
}

func testDivisibleby(_ *renderer, v any, args []any, kw []kwarg) (bool, error) {
	a, err := newSpec("divisibleby", "num", required).bind(args, kw)
	if err != nil {
		return false, err
	}
	if u, ok := v.(undefined); ok {
		return false, u.err()
	}
	m, err := arith(tokens.Modulo, v, a[0])
	if err != nil {
		return false, err
	}
	return equal(m, int64(0)), nil
}

func testSameas(_ *renderer, v any, args []any, kw []kwarg) (bool, error) {
	if len(args) != 1 || len(kw) > 0 {
		return false, typeErrorf("sameas() takes exactly one argument")
	}
	other := args[0]
	switch a := v.(type) {
	case nil:
		return other == nil, nil
	case bool:
		b, ok := other.(bool)
		return ok && a == b, nil
	case int64:
		b, ok := other.(int64)
		return ok && a == b && a >= -5 && a <= 256, nil
	case string:
		b, ok := other.(string)
		return ok && a == b, nil
	case float64:
		b, ok := other.(float64)
		return ok && (a == b || math.IsNaN(a) && math.IsNaN(b)), nil
	case *List, *Dict, *macro, *namespace, *loopInfo:
		return v == other, nil
	}
	return false, nil
}

func testIn(r *renderer, v any, args []any, kw []kwarg) (bool, error) {
	if len(args) != 1 || len(kw) > 0 {
		return false, typeErrorf("in() takes exactly one argument")
	}
	if u, ok := args[0].(undefined); ok && r.strict(u) {
		return false, u.err()
	}
	return contains(args[0], v)
}

func nameTest(fn func(*renderer, string) bool) testFunc {
	return func(r *renderer, v any, args []any, kw []kwarg) (bool, error) {
		s, ok := asString(v)
		return ok && fn(r, s), nil
	}
}

func compareTest(op tokens.Type) testFunc {
	return func(r *renderer, v any, args []any, kw []kwarg) (bool, error) {
		if len(args) != 1 || len(kw) > 0 {
			return false, typeErrorf("test takes exactly one argument")
		}
		res, err := r.binop(op, v, args[0])
		if err != nil {
			return false, err
		}
		return res.(bool), nil
	}
}
