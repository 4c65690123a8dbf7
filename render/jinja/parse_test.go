package jinja

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseSyntaxErrors(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		line, col int    // 0: not checked
		msg       string // substring of Msg
	}{
		{"unclosed variable", "Hello {{ name", 0, 0, ""},
		{"unclosed comment", "a {# never closed", 1, 0, "unclosed comment"},
		{"else without if", "a{% else %}b", 1, 0, "else"},
		{"unknown tag", "{% frobnicate %}", 1, 0, "frobnicate"},
		{"unbalanced paren", "{{ (1 + 2 }}", 1, 0, ""},
		{"unclosed for", "line1\n{% for x in xs %}{{ x }}", 0, 0, "endfor"},
		{"subscript set", "{% set d['k'] = 1 %}", 1, 0, "subscript"},
		{"include variable", "{% include tpl %}", 1, 0, "include target must be a string literal"},
		{"include expression", `{% include "a" ~ x %}`, 1, 0, "include target must be a string literal"},
		{"import variable", "{% import tpl as m %}", 1, 0, "import target must be a string literal"},
		{"from variable", "{% from tpl import m %}", 1, 0, "from target must be a string literal"},
		{"extends variable", "{% extends base %}", 1, 0, "extends target must be a string literal"},
		{"direct recursion", "{% macro f(n) %}{{ f(n) }}{% endmacro %}", 1, 0, `recursive macro "f" (f -> f)`},
		{"mutual recursion", "{% macro f() %}{{ g() }}{% endmacro %}\n{% macro g() %}{{ f() }}{% endmacro %}", 0, 0, `recursive macro`},
		{"recursion through call block", "{% macro f() %}{% call f() %}x{% endcall %}{% endmacro %}", 1, 0, "recursive macro"},
		{"recursion through alias", "{% macro f() %}{% set g = f %}{{ g() }}{% endmacro %}", 1, 0, "recursive macro"},
		{"duplicate block", "{% block a %}{% endblock %}{% block a %}{% endblock %}", 1, 0, "defined twice"},
		{"break is an extension", "{% for x in xs %}{% break %}{% endfor %}", 1, 0, "break"},
		{"nesting", "{{ " + strings.Repeat("(", MaxNesting+1), 0, 0, "nested too deeply"},
		{"tag nesting", strings.Repeat("{% if x %}", MaxNesting+1), 0, 0, "nested too deeply"},
		{"set block nesting", strings.Repeat("{% set x %}", MaxNesting+1), 0, 0, "nested too deeply"},
		{"assign to none", "{% set none = 1 %}", 1, 0, "cannot assign"},
		{"unknown character", "{{ a ? b }}", 1, 6, "unexpected char '?'"},
		{"unknown character after a newline", "{{ a +\n  b $ c }}", 2, 5, "unexpected char '$'"},
		{"emoji in a name", "{{ a😀 }}", 1, 5, "unexpected char '😀'"},
		{"name starting with a digit", "{{ 1a }}", 1, 4, `invalid name "1a"`},
		{"position after a numeric attribute chain", "{{ x.0.0.0 ? }}", 1, 12, "unexpected char '?'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("tpl", tt.src)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error = %v (%T), want *SyntaxError", tt.src, err, err)
			}
			if se.Name != "tpl" {
				t.Errorf("Name = %q, want %q", se.Name, "tpl")
			}
			if tt.line != 0 && se.Line != tt.line {
				t.Errorf("Line = %d, want %d (%v)", se.Line, tt.line, se)
			}
			if tt.col != 0 && se.Col != tt.col {
				t.Errorf("Col = %d, want %d (%v)", se.Col, tt.col, se)
			}
			if !strings.Contains(se.Msg, tt.msg) {
				t.Errorf("Msg = %q, want it to contain %q", se.Msg, tt.msg)
			}
		})
	}
}

func TestSyntaxErrorPosition(t *testing.T) {
	_, err := Parse("p", "line one\nline two {{ x + }}\n")
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("error = %v, want *SyntaxError", err)
	}
	if got, want := se.Line, 2; got != want {
		t.Errorf("Line = %d, want %d", got, want)
	}
	if se.Col == 0 {
		t.Errorf("Col = 0, want a column")
	}
	if got := se.Error(); !strings.HasPrefix(got, "p:2:") {
		t.Errorf("Error() = %q, want prefix %q", got, "p:2:")
	}
}

// The expected sets come from Jinja2 3.1.6's meta.find_undeclared_variables,
// minus loop and the globals (which this package never reports).
func TestVariables(t *testing.T) {
	tests := []struct {
		src  string
		want []string
	}{
		{"Hello {{ name }}!", []string{"name"}},
		{"{{ user.name }} {{ user['age'] }} {{ docs[0].title }}", []string{"docs", "user"}},
		{"{% if a %}{% set x = 1 %}{% endif %}{{ x }}", []string{"a", "x"}},
		{"{% if a %}{% set x = 1 %}{% else %}{% set x = 2 %}{% endif %}{{ x }}", []string{"a", "x"}},
		{"{{ x }}{% set x = 1 %}", []string{"x"}},
		{"{% set x = 1 %}{{ x }}", nil},
		{"{% for i in xs %}{{ i }}{{ loop.index }}{% endfor %}{{ i }}{{ loop }}", []string{"i", "xs"}},
		{"{% macro m(a, b=c) %}{{ a }}{{ d }}{{ caller() }}{{ varargs }}{% endmacro %}{{ m(1) }}", []string{"c", "d"}},
		{"{% set ns = namespace(a=1) %}{{ ns.a }}{{ range(3) }}{{ true }}{{ none }}{{ None }}", nil},
		{"{% with a = b %}{{ a }}{{ c }}{% endwith %}{{ a }}", []string{"a", "b", "c"}},
		{`{% import "x" as y %}{{ y.f() }}{% from "z" import q as r %}{{ r }}{{ q }}`, []string{"q"}},
		{"{% for x in xs %}{% set y = 1 %}{% endfor %}{{ y }}", []string{"xs", "y"}},
		{"{% set x %}{{ x }}{% endset %}", nil},
		{"{% set x = x + 1 %}", []string{"x"}},
		{"{% for x in x %}{% endfor %}", []string{"x"}},
		{"{% block b %}{{ q }}{% endblock %}", []string{"q"}},
		{"{% for a, b in c %}{{ a }}{{ b }}{% else %}{{ a }}{% endfor %}", []string{"a", "c"}},
		{"{% for x in xs if x > y %}{% endfor %}", []string{"xs", "y"}},
		{"{% call(i) m(z) %}{{ i }}{{ w }}{% endcall %}", []string{"m", "w", "z"}},
		{"{% filter upper(k) %}{{ v }}{% endfilter %}", []string{"k", "v"}},
		{"{{ a if b else c }} {{ d | default(e) }} {{ f is divisibleby g }}", []string{"a", "b", "c", "d", "e", "f", "g"}},
		{"{% set a, b = p, q %}{{ a }}{{ b }}", []string{"p", "q"}},
		{"{% set ns = namespace() %}{% set ns.x = v %}", []string{"v"}},
		{"{{ {'k': v, w: 1} }} {{ [l1, (t1, t2)] }} {{ -n }} {{ not m }} {{ s[a1:a2] }}", []string{"a1", "a2", "l1", "m", "n", "s", "t1", "t2", "v", "w"}},
		{"{{ f(x, key=y) }}", []string{"f", "x", "y"}},
		{`{{ a|attr("f")(b, k=c) }}`, []string{"a", "b", "c"}},
		{"{% for x in p, q %}{{ x }}{% endfor %}", []string{"p", "q"}},
		{"{{ a, b }}", []string{"a", "b"}},
		{"{{ a +\nb }}", []string{"a", "b"}},
		{"{% autoescape true %}{% set y = 1 %}{% endautoescape %}{{ y }}", []string{"y"}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			tpl, err := Parse("t", tt.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := tpl.Variables()
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Variables() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestReferences(t *testing.T) {
	tests := []struct {
		src  string
		want []string
	}{
		{"no refs {{ x }}", nil},
		{`{% include "partials/safety" %}`, []string{"partials/safety"}},
		{`{% include "b" %}{% include "a" ignore missing without context %}{% include "b" %}`, []string{"a", "b"}},
		{`{% import "macros/fmt" as fmt %}{% from "macros/x" import a, b as c with context %}`, []string{"macros/fmt", "macros/x"}},
		{`{% extends "base" %}{% block body %}{% include "inner" %}{% endblock %}`, []string{"base", "inner"}},
		{`{% if x %}{% for i in xs %}{% include "deep" %}{% endfor %}{% endif %}`, []string{"deep"}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			tpl, err := Parse("t", tt.src)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got := tpl.References()
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("References() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseDoesNotShareState(t *testing.T) {
	const src = "{% for d in docs %}{{ d.title | upper }}{% endfor %}{{ name }}"
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			tpl, err := Parse("t", src)
			if err != nil {
				t.Errorf("Parse: %v", err)
				return
			}
			if got, want := tpl.Variables(), []string{"docs", "name"}; !slices.Equal(got, want) {
				t.Errorf("Variables() = %q, want %q", got, want)
			}
		})
	}
	wg.Wait()
}

func TestVariablesReturnsCopy(t *testing.T) {
	tpl, err := Parse("t", "{{ a }}{{ b }}")
	if err != nil {
		t.Fatal(err)
	}
	tpl.Variables()[0] = "mutated"
	if got := tpl.Variables()[0]; got != "a" {
		t.Errorf("Variables()[0] = %q after caller mutation, want %q", got, "a")
	}
}

// TestParseAdversarial checks that sources built to stress the parser and
// the token rewrites are parsed or rejected quickly.
func TestParseAdversarial(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		wantErr string // "" when the template is valid
	}{
		{"many tags", strings.Repeat("Hi {{ name | upper }} {% if a < b < c %}x{% endif %} {{ f(a if b else c) }}\n", 5000), ""},
		{"not chain", "{{ " + strings.Repeat("not ", 4000) + "x }}", "nested too deeply"},
		{"else-if chain", "{{ f(" + strings.Repeat("a if b else ", 1000) + "c) }}", "nested too deeply"},
		{"comparison chain", "{{ " + strings.Repeat("a < ", 1000) + "b }}", ""},
		{"nested comparison chains", "{{ " + strings.Repeat("a < (", 60) + "b" + strings.Repeat(") < c", 60) + " }}", ""},
		{"long tag", "{{ f(" + strings.Repeat("a, ", 3000) + "b) }}", "tag longer than"},
		{"invalid utf-8", "ok {{ x }} \xff", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := Parse("p", tt.src)
			if elapsed := time.Since(start); elapsed > 5*time.Second {
				t.Errorf("Parse took %v", elapsed)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Parse: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
