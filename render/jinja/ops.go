package jinja

import (
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/nikolalohinski/gonja/v2/tokens"
)

// binop applies a binary operator with Python's semantics: integers do not
// overflow (they grow into big integers, up to maxIntBits), // and % floor
// towards negative infinity, / always gives a float, str % args formats.
func (r *renderer) binop(op tokens.Type, a, b any) (any, error) {
	switch op {
	case tokens.Tilde:
		as, err := r.toStr(a)
		if err != nil {
			return nil, err
		}
		bs, err := r.toStr(b)
		if err != nil {
			return nil, err
		}
		if err := r.checkLen(len(as) + len(bs)); err != nil {
			return nil, err
		}
		return as + bs, nil
	case tokens.Equals, tokens.Ne:
		if u, ok := a.(undefined); ok && r.strict(u) {
			return nil, u.err()
		}
		if u, ok := b.(undefined); ok && r.strict(u) {
			return nil, u.err()
		}
		eq := equal(a, b)
		return eq == (op == tokens.Equals), nil
	}
	if u, ok := a.(undefined); ok {
		return nil, u.err()
	}
	if u, ok := b.(undefined); ok {
		return nil, u.err()
	}
	switch op {
	case tokens.LowerThan, tokens.LowerThanOrEqual, tokens.GreaterThan, tokens.GreaterThanOrEqual:
		return ordering(op, a, b)
	}
	return r.arithmetic(op, a, b)
}

// ordering applies <, <=, > and >=.
func ordering(op tokens.Type, a, b any) (any, error) {
	if x, ok := a.(int64); ok {
		if y, ok := b.(int64); ok {
			switch op {
			case tokens.LowerThan:
				return x < y, nil
			case tokens.LowerThanOrEqual:
				return x <= y, nil
			case tokens.GreaterThan:
				return x > y, nil
			}
			return x >= y, nil
		}
	}
	{
		c, err := compare(a, b)
		if err != nil {
			return nil, typeErrorf("'%s' not supported between instances of '%s' and '%s'", opSymbol(op), typeName(a), typeName(b))
		}
		if isNaN(a) || isNaN(b) {
			return false, nil
		}
		switch op {
		case tokens.LowerThan:
			return c < 0, nil
		case tokens.LowerThanOrEqual:
			return c <= 0, nil
		case tokens.GreaterThan:
			return c > 0, nil
		}
		return c >= 0, nil
	}
}

//go:noinline
func (r *renderer) arithmetic(op tokens.Type, a, b any) (any, error) {
	switch op {
	case tokens.Addition:
		return r.add(a, b)
	case tokens.Subtraction:
		return arith(op, a, b)
	case tokens.Multiply:
		return r.mul(a, b)
	case tokens.Division:
		if !isNumber(a) || !isNumber(b) {
			return nil, unsupported("/", a, b)
		}
		d := toFloat(b)
		if d == 0 {
			return nil, zeroDivision("division by zero")
		}
		return toFloat(a) / d, nil
	case tokens.FloorDivision, tokens.Modulo, tokens.Power:
		if op == tokens.Modulo {
			if s, ok := asString(a); ok {
				out, err := r.percentFormat(s, b)
				if err != nil {
					return nil, err
				}
				if _, isMarkup := a.(Markup); isMarkup {
					return Markup(out), nil
				}
				return out, nil
			}
		}
		if op == tokens.Power {
			return r.pow(a, b)
		}
		return arith(op, a, b)
	}
	return nil, &RenderError{Kind: "InternalError", Msg: fmt.Sprintf("unknown operator %s", tokens.Names[op])}
}

func isNaN(v any) bool {
	f, ok := v.(float64)
	return ok && math.IsNaN(f)
}

func opSymbol(op tokens.Type) string {
	switch op {
	case tokens.LowerThan:
		return "<"
	case tokens.LowerThanOrEqual:
		return "<="
	case tokens.GreaterThan:
		return ">"
	case tokens.GreaterThanOrEqual:
		return ">="
	case tokens.Addition:
		return "+"
	case tokens.Subtraction:
		return "-"
	case tokens.Multiply:
		return "*"
	case tokens.FloorDivision:
		return "//"
	case tokens.Modulo:
		return "%"
	case tokens.Power:
		return "** or pow()"
	}
	return "?"
}

func unsupported(op string, a, b any) error {
	return typeErrorf("unsupported operand type(s) for %s: '%s' and '%s'", op, typeName(a), typeName(b))
}

func (r *renderer) add(a, b any) (any, error) {
	switch av := a.(type) {
	case string, Markup:
		bs, ok := asString(b)
		if !ok {
			return nil, typeErrorf(`can only concatenate str (not "%s") to str`, typeName(b))
		}
		as := str(av)
		if err := r.checkLen(len(as) + len(bs)); err != nil {
			return nil, err
		}
		return as + bs, nil
	case *List:
		bl, ok := b.(*List)
		if !ok {
			return nil, typeErrorf(`can only concatenate list (not "%s") to list`, typeName(b))
		}
		if err := r.grow(len(av.Items) + len(bl.Items)); err != nil {
			return nil, err
		}
		out := make([]any, 0, len(av.Items)+len(bl.Items))
		return &List{Items: append(append(out, av.Items...), bl.Items...)}, nil
	case Tuple:
		bt, ok := b.(Tuple)
		if !ok {
			return nil, typeErrorf(`can only concatenate tuple (not "%s") to tuple`, typeName(b))
		}
		return append(append(Tuple{}, av...), bt...), nil
	}
	return arith(tokens.Addition, a, b)
}

func (r *renderer) mul(a, b any) (any, error) {
	seq, n := a, b
	if isNumber(a) && !isNumber(b) {
		seq, n = b, a
	}
	var items []any
	switch s := seq.(type) {
	case string, Markup, *List, Tuple:
		if s, ok := s.(*List); ok {
			items = s.Items
		}
		if t, ok := s.(Tuple); ok {
			items = t
		}
	default:
		return arith(tokens.Multiply, a, b)
	}
	count, isInt := smallInt(n)
	if !isInt {
		return nil, typeErrorf("can't multiply sequence by non-int of type '%s'", typeName(n))
	}
	count = max(count, 0)
	if s, ok := asString(seq); ok {
		if int64(len(s))*count > int64(r.opts.MaxOutput) {
			return nil, r.checkLen(r.opts.MaxOutput + 1)
		}
		return strings.Repeat(s, int(count)), nil
	}
	total := int64(len(items)) * count
	if total > int64(itemFactor*r.opts.MaxRange) {
		return nil, r.grow(itemFactor*r.opts.MaxRange + 1)
	}
	if err := r.grow(int(total)); err != nil {
		return nil, err
	}
	out := make([]any, 0, total)
	for range count {
		out = append(out, items...)
	}
	if _, ok := seq.(Tuple); ok {
		return Tuple(out), nil
	}
	return &List{Items: out}, nil
}

// arith applies +, -, *, // and % to numbers.
func arith(op tokens.Type, a, b any) (any, error) {
	if !isNumber(a) || !isNumber(b) {
		return nil, unsupported(opSymbol(op), a, b)
	}
	_, af := a.(float64)
	_, bf := b.(float64)
	if af || bf {
		x, y := toFloat(a), toFloat(b)
		switch op {
		case tokens.Addition:
			return x + y, nil
		case tokens.Subtraction:
			return x - y, nil
		case tokens.Multiply:
			return x * y, nil
		case tokens.FloorDivision:
			if y == 0 {
				return nil, zeroDivision("float floor division by zero")
			}
			return math.Floor(x / y), nil
		case tokens.Modulo:
			if y == 0 {
				return nil, zeroDivision("float modulo")
			}
			m := math.Mod(x, y)
			if m != 0 && (m < 0) != (y < 0) {
				m += y
			}
			return m, nil
		}
	}
	x, xok := smallInt(a)
	y, yok := smallInt(b)
	if xok && yok {
		switch op {
		case tokens.Addition:
			s := x + y
			if (x > 0 && y > 0 && s < 0) || (x < 0 && y < 0 && s >= 0) {
				break
			}
			return s, nil
		case tokens.Subtraction:
			s := x - y
			if (x >= 0 && y < 0 && s < 0) || (x < 0 && y > 0 && s >= 0) {
				break
			}
			return s, nil
		case tokens.Multiply:
			if x == 0 || y == 0 {
				return int64(0), nil
			}
			p := x * y
			if p/y != x || (x == -1 && y == math.MinInt64) || (y == -1 && x == math.MinInt64) {
				break
			}
			return p, nil
		case tokens.FloorDivision, tokens.Modulo:
			if y == 0 {
				return nil, zeroDivision("integer division or modulo by zero")
			}
			if x == math.MinInt64 && y == -1 {
				break
			}
			q, m := x/y, x%y
			if m != 0 && (m < 0) != (y < 0) {
				q--
				m += y
			}
			if op == tokens.Modulo {
				return m, nil
			}
			return q, nil
		}
	}
	bx, by := toBig(a), toBig(b)
	z := new(big.Int)
	switch op {
	case tokens.Addition:
		z.Add(bx, by)
	case tokens.Subtraction:
		z.Sub(bx, by)
	case tokens.Multiply:
		if bx.BitLen()+by.BitLen() > maxIntBits {
			return nil, &LimitError{Limit: "size", Msg: "integer too large"}
		}
		z.Mul(bx, by)
	case tokens.FloorDivision, tokens.Modulo:
		if by.Sign() == 0 {
			return nil, zeroDivision("integer division or modulo by zero")
		}
		m := new(big.Int)
		z.DivMod(bx, by, m) // Euclidean: m >= 0
		if m.Sign() != 0 && by.Sign() < 0 {
			z.Add(z, big.NewInt(1))
			m.Add(m, by)
		}
		if op == tokens.Modulo {
			z = m
		}
	}
	return normBig(z), nil
}

func smallInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case bool:
		return boolInt(v), true
	}
	return 0, false
}

// normBig returns z as an int64 when it fits.
func normBig(z *big.Int) any {
	if z.IsInt64() {
		return z.Int64()
	}
	return z
}

func (r *renderer) pow(a, b any) (any, error) {
	if !isNumber(a) || !isNumber(b) {
		return nil, unsupported("** or pow()", a, b)
	}
	_, af := a.(float64)
	_, bf := b.(float64)
	if !af && !bf {
		base, exp := toBig(a), toBig(b)
		if exp.Sign() >= 0 {
			if base.CmpAbs(big.NewInt(1)) > 0 && (!exp.IsInt64() || exp.Int64() > maxIntBits ||
				int64(base.BitLen()-1)*exp.Int64() > maxIntBits) {
				return nil, &LimitError{Limit: "size", Msg: "integer too large"}
			}
			return normBig(new(big.Int).Exp(base, exp, nil)), nil
		}
		if base.Sign() == 0 {
			return nil, zeroDivision("0.0 cannot be raised to a negative power")
		}
	}
	x, y := toFloat(a), toFloat(b)
	if x == 0 && y < 0 {
		return nil, zeroDivision("0.0 cannot be raised to a negative power")
	}
	if x < 0 && y != math.Trunc(y) {
		return nil, valueErrorf("negative number cannot be raised to a fractional power")
	}
	res := math.Pow(x, y)
	if math.IsInf(res, 0) && !math.IsInf(x, 0) {
		return nil, &RenderError{Kind: "OverflowError", Msg: "(34, 'Numerical result out of range')"}
	}
	return res, nil
}

func negate(v any) (any, error) {
	switch v := v.(type) {
	case int64:
		if v == math.MinInt64 {
			return new(big.Int).Neg(big.NewInt(v)), nil
		}
		return -v, nil
	case bool:
		return -boolInt(v), nil
	case float64:
		return -v, nil
	case *big.Int:
		return normBig(new(big.Int).Neg(v)), nil
	case undefined:
		return nil, v.err()
	}
	return nil, typeErrorf("bad operand type for unary -: '%s'", typeName(v))
}

func positive(v any) (any, error) {
	switch v := v.(type) {
	case int64, float64, *big.Int:
		return v, nil
	case bool:
		return boolInt(v), nil
	case undefined:
		return nil, v.err()
	}
	return nil, typeErrorf("bad operand type for unary +: '%s'", typeName(v))
}
