package jinja

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// mapLoader serves templates from a map, parsing them on each Load.
type mapLoader map[string]string

func (m mapLoader) Load(name string) (*Template, error) {
	src, ok := m[name]
	if !ok {
		return nil, fmt.Errorf("prompt %q not found", name)
	}
	return Parse(name, src)
}

func mustParse(t testing.TB, src string) *Template {
	t.Helper()
	tpl, err := Parse("test", src)
	if err != nil {
		t.Fatalf("Parse(%q): %v", src, err)
	}
	return tpl
}

func render(t testing.TB, src string, vars map[string]any, opts Options) (string, error) {
	t.Helper()
	return mustParse(t, src).Render(context.Background(), vars, opts)
}

func TestRender(t *testing.T) {
	tests := []struct {
		name string
		src  string
		vars map[string]any
		want string
	}{
		{"text", "Hello {{ name }}!", map[string]any{"name": "Ada"}, "Hello Ada!"},
		{"go int", "{{ n + 1 }} {{ n / 2 }} {{ n // 2 }}", map[string]any{"n": 7}, "8 3.5 3"},
		{"go float", "{{ f }} {{ f * 2 }}", map[string]any{"f": 1.5}, "1.5 3.0"},
		{"go map sorted", "{% for k, v in m | items %}{{ k }}={{ v }};{% endfor %}", map[string]any{"m": map[string]any{"b": 1, "a": 2}}, "a=2;b=1;"},
		{"go slice", "{{ xs | join(',') }} {{ xs | length }}", map[string]any{"xs": []string{"a", "b"}}, "a,b 2"},
		{"go struct", "{{ u.Name }} {{ u.age }}", map[string]any{"u": struct {
			Name string
			Age  int `json:"age"`
		}{"Bo", 3}}, "Bo 3"},
		{"none vs undefined", "{{ x }}|{{ y }}|{{ x is none }}|{{ y is defined }}", map[string]any{"x": nil}, "None||True|False"},
		{"python modulo", "{{ -7 % 3 }} {{ 7 % -3 }} {{ -7.5 % 2 }} {{ -7 // 2 }}", nil, "2 -2 0.5 -4"},
		{"big ints", "{{ 2 ** 64 }} {{ 9223372036854775807 + 1 - 1 }}", nil, "18446744073709551616 9223372036854775807"},
		{"percent format", "{{ '%s is %d years, %.2f%% done, %5s|%-5s|%05d' % (n, 3, 12.345, 'r', 'l', -42) }}", map[string]any{"n": "Al"}, "Al is 3 years, 12.35% done,     r|l    |-0042"},
		{"percent mapping", "{{ '%(a)s-%(b)03d' % {'a': 'x', 'b': 7} }}", nil, "x-007"},
		{"str.format", "{{ '{} {name} {:>4}'.format('a', 'b', name='n') }}", nil, "a n    b"},
		{"string methods", "{{ ' a,b '.strip().split(',') }} {{ 'xxhixx'.strip('x') }} {{ 'a-b-c'.replace('-', '+', 1) }} {{ 'abc'.find('c') }}", nil, "['a', 'b'] hi a+b-c 2"},
		{"unicode index", "{{ s[1] }}{{ s[-1] }}{{ s[1:3] }}{{ s | length }}{{ s | reverse }}", map[string]any{"s": "héllo中"}, "é中él6中olléh"},
		{"dict order kept", "{{ d }} {{ d | tojson }}", map[string]any{"d": mustDecode(`{"z": 1, "a": [1, 2.5, null]}`)}, `{'z': 1, 'a': [1, 2.5, None]} {"a": [1, 2.5, null], "z": 1}`},
		{"tojson escaping", `{{ "<a href='x'>&é" | tojson }}`, nil, `"\u003ca href=\u0027x\u0027\u003e\u0026\u00e9"`},
		{"chained comparison in elif", "{% if 0 %}a{% elif 1 < 2 < 3 %}b{% endif %}", nil, "b"},
		{"namespace", "{% set ns = namespace(n=0) %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}", nil, "6"},
		{"loop vars", "{% for x in 'abc' %}{{ loop.index }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.cycle('o','e') }} {% endfor %}", nil, "12Trueo 21Falsee 30Falseo "},
		{"macro call block", "{% macro m(x) %}[{{ caller(x) }}]{% endmacro %}{% call(v) m(2) %}{{ v * 2 }}{% endcall %}", nil, "[4]"},
		{"macro kwargs varargs", "{% macro m(a, b=2) %}{{ a }}{{ b }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 3, 4, z=5) }}", nil, "13(4,){'z': 5}"},
		{"filters", "{{ 'hello world' | title }} {{ [3, 1, 2] | sort | first }} {{ [1, 2, 3] | sum }} {{ 'ab' | center(6) }}|{{ 3.14159 | round(2) }}", nil, "Hello World 1 6   ab  |3.14"},
		{"wordwrap", "{{ 'The quick brown fox jumps over the lazy dog' | wordwrap(10) }}", nil, "The quick\nbrown fox\njumps over\nthe lazy\ndog"},
		{"dictsort and groupby", "{{ d | dictsort }} {% for g in xs | groupby('k') %}{{ g.grouper }}:{{ g.list | length }} {% endfor %}", map[string]any{
			"d":  mustDecode(`{"b": 1, "A": 2}`),
			"xs": mustDecode(`[{"k": "y"}, {"k": "x"}, {"k": "y"}]`),
		}, "[('A', 2), ('b', 1)] x:1 y:2 "},
		{"self-referential list", "{% set xs = [1] %}{% set _ = xs.append(xs) %}{{ xs }} {{ xs == xs }}", nil, "[1, [...]] True"},
		{"sandbox names", "[{{ ''.__class__ }}{{ x.__dict__ }}{{ range.__globals__ }}]", map[string]any{"x": map[string]any{}}, "[]"},
		{"nested conditional expressions", "{{ [1 if t else 2, 3 if not t] }} {{ ('a' if t else 'b') | upper }} {{ xs | join(',' if t else ';') }} {{ {'k': 'v' if t else 'w'} }}", map[string]any{"t": true, "xs": []any{1, 2}}, "[1, Undefined] A 1,2 {'k': 'v'}"},
		{"lazy conditional", "{{ [x.y if x is defined else 'none'] }}", nil, "['none']"},
		{"chained comparisons", "{{ 3 > 2 > 1 }} {{ 1 < 3 > 2 }} {{ 0 < n < 10 }} {{ 1 == 1 == 1 }} {{ (3 > 2) > 1 }}", map[string]any{"n": 12}, "True True False True False"},
		{"not not", "{{ not not x }} {{ not not not x }} {{ not not x and not not y }}", map[string]any{"x": 1, "y": 0}, "True False False"},
		{"trailing newline kept", "a\n", nil, "a\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := render(t, tt.src, tt.vars, Options{})
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRenderStrFormat(t *testing.T) {
	// Mixing automatic and manual numbering is a ValueError in Python.
	_, err := render(t, "{{ '{} {0}'.format(1) }}", nil, Options{})
	var re *RenderError
	if !errors.As(err, &re) || re.Kind != "ValueError" {
		t.Errorf("mixed numbering: err = %v, want ValueError", err)
	}
	got, err := render(t, "{{ '{0} {1:>4} {1:.2f} {2:,} {3!r} {name:^5}'.format(1, 2.5, 1234567, 'q', name='n') }}", nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "1  2.5 2.50 1,234,567 'q'   n  "; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func mustDecode(s string) any {
	v, err := DecodeJSONValue([]byte(s))
	if err != nil {
		panic(err)
	}
	return v
}

func TestDecodeJSON(t *testing.T) {
	vars, err := DecodeJSON([]byte(`{"n": 3, "f": 3.0, "big": 123456789012345678901234567890, "o": {"z": 1, "a": 2}, "l": [true, null, "s"]}`))
	if err != nil {
		t.Fatal(err)
	}
	got, err := mustParse(t, "{{ n }} {{ f }} {{ big + 1 }} {{ o | list }} {{ l }}").Render(context.Background(), vars, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "3 3.0 123456789012345678901234567891 ['z', 'a'] [True, None, 's']"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, bad := range []string{`[1]`, `{"a": }`, `{"a": 1} x`, strings.Repeat("[", 2000) + strings.Repeat("]", 2000)} {
		if _, err := DecodeJSON([]byte(bad)); err == nil {
			t.Errorf("DecodeJSON(%.20q) succeeded, want an error", bad)
		}
	}
	plain := Plain(vars["o"])
	if m, ok := plain.(map[string]any); !ok || m["z"] != int64(1) {
		t.Errorf("Plain(o) = %#v, want map with z=1", plain)
	}
}

func TestDecodeJSONTooManyVariables(t *testing.T) {
	object := func(n int) []byte {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"v%d":{"a":1,"b":2}`, i)
		}
		b.WriteString("}")
		return []byte(b.String())
	}
	if vars, err := DecodeJSON(object(MaxVariables)); err != nil || len(vars) != MaxVariables {
		t.Fatalf("%d variables: %d, %v", MaxVariables, len(vars), err)
	}
	if _, err := DecodeJSON(object(MaxVariables + 1)); !errors.Is(err, ErrTooManyVariables) {
		t.Fatalf("%d variables: %v, want ErrTooManyVariables", MaxVariables+1, err)
	}
	// The limit is on variables, not on the members of their values.
	if _, err := DecodeJSON([]byte(`{"v":` + string(object(MaxVariables+1)) + `}`)); err != nil {
		t.Fatalf("a variable of %d members: %v", MaxVariables+1, err)
	}
}

func TestRenderErrors(t *testing.T) {
	type check func(error) bool
	limit := func(name string) check {
		return func(err error) bool {
			var le *LimitError
			return errors.As(err, &le) && le.Limit == name
		}
	}
	kind := func(name string) check {
		return func(err error) bool {
			var re *RenderError
			return errors.As(err, &re) && re.Kind == name
		}
	}
	undefined := func(name string) check {
		return func(err error) bool {
			var ue *UndefinedError
			return errors.As(err, &ue) && ue.Name == name
		}
	}
	tests := []struct {
		name   string
		src    string
		strict bool
		is     check
		desc   string
	}{
		{"strict missing", "Hi {{ name }}", true, undefined("name"), "UndefinedError name"},
		{"strict missing in if", "{% if flag %}x{% endif %}", true, undefined("flag"), "UndefinedError flag"},
		{"strict missing attribute", "{% set user = {} %}{{ user.nick }}", true, undefined("nick"), "UndefinedError nick"},
		{"lenient attribute of missing", "{{ user.address.city }}", false, undefined("user"), "UndefinedError user"},
		{"lenient arithmetic on missing", "{{ 'a' + missing }}", false, undefined("missing"), "UndefinedError missing"},
		{"modulo zero", "{{ 5 % 0 }}", false, kind("ZeroDivisionError"), "ZeroDivisionError"},
		{"float modulo zero", "{{ 5.5 % 0 }}", false, kind("ZeroDivisionError"), "ZeroDivisionError"},
		{"division zero", "{{ 1 / 0 }}", false, kind("ZeroDivisionError"), "ZeroDivisionError"},
		{"percent type", "{{ '%d' % 'a' }}", false, kind("TypeError"), "TypeError"},
		{"percent incomplete", "{{ 'x %' % 1 }}", false, kind("ValueError"), "ValueError"},
		{"percent too many", "{{ '%s' % (1, 2) }}", false, kind("TypeError"), "TypeError"},
		{"str plus int", "{{ 'a' + 1 }}", false, kind("TypeError"), "TypeError"},
		{"unorderable", "{{ [1, 'a'] | sort }}", false, kind("TypeError"), "TypeError"},
		{"set attr on dict", "{% set d = {} %}{% set d.k = 1 %}", false, kind("TemplateRuntimeError"), "TemplateRuntimeError"},
		{"include without loader", `{% include "x" %}`, false, kind("TemplateNotFound"), "TemplateNotFound"},
		{"range cap", "{{ range(10001) | length }}", false, limit("range"), "LimitError range"},
		{"output cap", "{% for i in range(2000) %}{{ 'x' * 1000 }}{% endfor %}", false, limit("output"), "LimitError output"},
		{"string size", "{{ ('x' * 1000000) ~ ('x' * 1000000) }}", false, limit("size"), "LimitError size"},
		{"int size", "{{ 7 ** 100000000 }}", false, limit("size"), "LimitError size"},
		{"macro as argument recursion", "{% macro a(f) %}{{ f(f) }}{% endmacro %}{{ a(a) }}", false, limit("recursion"), "LimitError recursion"},
		{"recursive loop on cyclic data", "{% set xs = [] %}{% set _ = xs.append(xs) %}{% for x in xs recursive %}{{ loop(x) }}{% endfor %}", false, limit("recursion"), "LimitError recursion"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := render(t, tt.src, nil, Options{Strict: tt.strict})
			if err == nil || !tt.is(err) {
				t.Errorf("err = %v (%T), want %s", err, err, tt.desc)
			}
		})
	}
}

func TestErrorPosition(t *testing.T) {
	tpl, err := Parse("support/welcome", "line 1\nline 2 {{ 1 / 0 }}")
	if err != nil {
		t.Fatal(err)
	}
	_, err = tpl.Render(context.Background(), nil, Options{})
	var re *RenderError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want *RenderError", err)
	}
	if re.Template != "support/welcome" || re.Line != 2 {
		t.Errorf("position = %s:%d, want support/welcome:2", re.Template, re.Line)
	}
	if got, want := err.Error(), "support/welcome:2: ZeroDivisionError: division by zero"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestRenderDoesNotModifyVars(t *testing.T) {
	list := []any{1, 2}
	inner := map[string]any{"k": "v"}
	dict := mustDecode(`{"a": [1]}`).(*Dict)
	vars := map[string]any{"list": list, "inner": inner, "dict": dict}
	src := `{% set _ = list.append(3) %}{% set _ = list.pop(0) %}{% set _ = inner.update({'k': 'x', 'n': 1}) %}` +
		`{% set _ = dict.a.append(2) %}{% set _ = dict.pop('a') %}{{ list }} {{ inner }} {{ dict }}`
	got, err := render(t, src, vars, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "[2, 3] {'k': 'x', 'n': 1} {}"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if len(list) != 2 || list[0] != 1 || inner["k"] != "v" || len(inner) != 1 {
		t.Errorf("caller's data modified: list=%v inner=%v", list, inner)
	}
	if a, _ := dict.Get("a"); dict.Len() != 1 || len(a.([]any)) != 1 {
		t.Errorf("caller's Dict modified: %v", repr(dict))
	}
	if len(vars) != 3 {
		t.Errorf("caller's vars modified: %v", vars)
	}
}

func TestIncludes(t *testing.T) {
	loader := mapLoader{
		"partials/safety": "Be safe, {{ name }}.",
		"partials/local":  "{% set name = 'inner' %}{{ name }}",
		"macros/fmt":      "{% macro bold(s) %}**{{ s }}**{% endmacro %}{% set version = 2 %}{% macro _private() %}{% endmacro %}",
		"base":            "<{% block title %}Base{% endblock %}|{% block body %}{% endblock %}>",
		"child":           `{% extends "base" %}{% block title %}Child-{{ super() }}{% endblock %}{% block body %}{{ name }}{% endblock %}`,
		"grandchild":      `{% extends "child" %}{% block body %}GC {{ super() }}{% endblock %}`,
		"cycle/a":         `a{% include "cycle/b" %}`,
		"cycle/b":         `b{% include "cycle/a" %}`,
		"self":            `{% include "self" %}`,
	}
	for i := range 10 {
		loader[fmt.Sprintf("deep/%d", i)] = fmt.Sprintf(`%d{%% include "deep/%d" %%}`, i, i+1)
	}
	loader["deep/10"] = "end"
	tests := []struct {
		src      string
		want     string
		errLimit string // expected LimitError, if any
		errKind  string // expected RenderError kind, if any
	}{
		{src: `{% include "partials/safety" %}`, want: "Be safe, Ada."},
		{src: `{% for name in ['x', 'y'] %}{% include "partials/safety" %}{% endfor %}`, want: "Be safe, x.Be safe, y."},
		{src: `{% include "partials/safety" without context %}`, want: "Be safe, ."},
		{src: `{% include "partials/local" %} {{ name }}`, want: "inner Ada"},
		{src: `{% import "macros/fmt" as fmt %}{{ fmt.bold(name) }} v{{ fmt.version }}[{{ fmt._private }}]`, want: "**Ada** v2[]"},
		{src: `{% from "macros/fmt" import bold as b, version %}{{ b('x') }}{{ version }}`, want: "**x**2"},
		{src: `{% include "child" %}`, want: "<Child-Base|Ada>"},
		{src: `{% extends "grandchild" %}`, want: "<Child-Base|GC Ada>"},
		{src: `{% include "missing" ignore missing %}ok`, want: "ok"},
		{src: `{% include "missing" %}`, errKind: "TemplateNotFound"},
		{src: `{% include "cycle/a" %}`, errLimit: "recursion"},
		{src: `{% include "self" %}`, errLimit: "recursion"},
		{src: `{% include "deep/0" %}`, errLimit: "recursion"},
		{src: `{% include "deep/3" %}`, want: "3456789end"},
		{src: `{% include "deep/2" %}`, errLimit: "recursion"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got, err := render(t, tt.src, map[string]any{"name": "Ada"}, Options{Loader: loader})
			switch {
			case tt.errLimit != "":
				var le *LimitError
				if !errors.As(err, &le) || le.Limit != tt.errLimit {
					t.Errorf("err = %v, want LimitError %s", err, tt.errLimit)
				}
			case tt.errKind != "":
				var re *RenderError
				if !errors.As(err, &re) || re.Kind != tt.errKind {
					t.Errorf("err = %v, want RenderError %s", err, tt.errKind)
				}
			case err != nil:
				t.Errorf("Render: %v", err)
			case got != tt.want:
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLoaderErrorUnwraps(t *testing.T) {
	sentinel := errors.New("not in snapshot")
	_, err := render(t, `{% include "x" %}`, nil, Options{Loader: errLoader{sentinel}})
	if !errors.Is(err, sentinel) {
		t.Errorf("err = %v, want it to wrap the loader's error", err)
	}
}

type errLoader struct{ err error }

func (l errLoader) Load(string) (*Template, error) { return nil, l.err }

// slowTemplate runs for about 10^8 loop iterations unless stopped.
const slowTemplate = "{% for i in range(10000) %}{% for j in range(10000) %}{% if i < 0 %}x{% endif %}{% endfor %}{% endfor %}"

func TestRenderTimeout(t *testing.T) {
	tpl := mustParse(t, slowTemplate)
	before := runtime.NumGoroutine()
	const timeout = 50 * time.Millisecond
	for range 5 {
		start := time.Now()
		_, err := tpl.Render(context.Background(), nil, Options{Timeout: timeout})
		elapsed := time.Since(start)
		var le *LimitError
		if !errors.As(err, &le) || le.Limit != "timeout" {
			t.Fatalf("err = %v, want LimitError timeout", err)
		}
		if elapsed > timeout+time.Second {
			t.Errorf("Render answered after %v, want about %v", elapsed, timeout)
		}
	}
	// The abandoned renders stop at their next loop iteration.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := runtime.NumGoroutine(); got > before {
		t.Errorf("goroutines: %d after the renders, %d before: abandoned renders did not stop", got, before)
	}
}

func TestRenderContextCancel(t *testing.T) {
	tpl := mustParse(t, slowTemplate)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(20 * time.Millisecond)
		cancel()
	}()
	_, err := tpl.Render(ctx, nil, Options{Timeout: time.Minute})
	var le *LimitError
	if !errors.As(err, &le) || !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want LimitError wrapping context.Canceled", err)
	}
	if _, err := tpl.Render(ctx, nil, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("render with a done context: err = %v, want context.Canceled", err)
	}
}

func TestRenderConcurrently(t *testing.T) {
	tpl := mustParse(t, "{% set ns = namespace(n=0) %}{% for d in docs %}{% set ns.n = ns.n + d.n %}{{ d.t | upper }}{% endfor %}={{ ns.n }}{% set _ = docs.append(1) %}")
	vars, err := DecodeJSON([]byte(`{"docs": [{"t": "a", "n": 1}, {"t": "b", "n": 2}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for range 50 {
				got, err := tpl.Render(context.Background(), vars, Options{})
				if err != nil || got != "AB=3" {
					t.Errorf("got %q, %v; want %q", got, err, "AB=3")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestVariablesWith(t *testing.T) {
	loader := mapLoader{
		"partials/doc":    "{{ doc.title }} {{ lang }}",
		"partials/footer": "{{ company }}{% include 'partials/legal' %}",
		"partials/legal":  "{{ year }}",
		"macros":          "{% macro m() %}{{ secret }}{% endmacro %}",
		"base":            "{% block body %}{% endblock %}{{ brand }}",
		"loop/a":          "{% include 'loop/b' %}",
		"loop/b":          "{% include 'loop/a' %}",
	}
	tests := []struct {
		src  string
		want []string
		err  bool
	}{
		{`{% for doc in docs %}{% include "partials/doc" %}{% endfor %}`, []string{"docs", "lang"}, false},
		{`{{ name }}{% include "partials/footer" %}`, []string{"company", "name", "year"}, false},
		{`{% set company = 'x' %}{% include "partials/footer" %}`, []string{"year"}, false},
		{`{% include "partials/footer" without context %}`, nil, false},
		{`{% import "macros" as m %}{{ m.m() }}`, nil, false},
		{`{% from "macros" import m with context %}{{ m() }}`, []string{"secret"}, false},
		{`{% extends "base" %}{% set brand = 'b' %}{% block body %}{{ x }}{% endblock %}`, []string{"x"}, false},
		{`{% include "loop/a" %}`, nil, true},
		{`{% include "missing" %}`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got, err := mustParse(t, tt.src).VariablesWith(loader)
			if tt.err {
				if err == nil {
					t.Errorf("VariablesWith = %q, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("VariablesWith = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRenderReleasesVarsOnTimeout mutates the variables right after a
// timed-out render returns; under -race this shows the abandoned render no
// longer reads them.
func TestRenderReleasesVarsOnTimeout(t *testing.T) {
	tpl := mustParse(t, "{% for i in range(10000) %}{% for j in range(10000) %}{{ vars_a if i < 0 }}{% endfor %}{% endfor %}{{ late }}")
	for range 5 {
		vars := map[string]any{"vars_a": 1, "late": []any{1, 2}}
		_, err := tpl.Render(context.Background(), vars, Options{Timeout: 10 * time.Millisecond})
		var le *LimitError
		if !errors.As(err, &le) {
			t.Fatalf("err = %v, want LimitError", err)
		}
		vars["late"] = "changed"
		delete(vars, "vars_a")
	}
}
