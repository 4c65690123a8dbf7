#!/usr/bin/env python3
"""Generate testdata/extra_corpus.jsonl: templates beyond the shared corpus,
one per line of the batches below (or per item of a batch's
template_list), rendered by Python Jinja2 (default
Undefined and StrictUndefined, keep_trailing_newline=True). Same format as
corpus.jsonl plus "partials" (templates available to include/import).

    python3 render/jinja/testdata/make_extra_corpus.py
"""
import json
import os

import jinja2

BATCHES = []

BATCHES.append(dict(
    name='b1',
    vars={"name": "Ada", "n": 7, "f": 2.5, "neg": -3, "s": "  Hello, World  ", "u": "héllo wörld", "xs": [3, 1, 2], "ws": ["b", "A", "c"],
     "d": {"z": 1, "a": 2, "m": None}, "users": [{"name": "al", "age": 30, "role": "admin"}, {"name": "bo", "age": 20, "role": "user"}, {"name": "cy", "age": 40, "role": "user"}],
     "t": True, "none": None, "empty": [], "html": "<b>x & y</b>", "long": "The quick brown fox jumps over the lazy dog " * 3, "big": 12345678901234567890, "nested": {"a": {"b": [1, {"c": "deep"}]}}},
    partials={},
    templates=r'''
{{ name }}|{{ missing }}|{{ none }}
{{ n / 2 }} {{ n // 2 }} {{ n % 3 }} {{ n ** 2 }} {{ -n }} {{ f * 2 }} {{ n * f }}
{{ 10 / 4 }} {{ 10 / 5 }} {{ 1e20 }} {{ 1e-5 }} {{ 0.1 * 3 }} {{ 1/3 }} {{ 2 ** 0.5 }} {{ 100000000000000000.0 }}
{{ xs }} {{ d }} {{ users[0] }} {{ (1, 'a') }} {{ [] }} {{ {} }} {{ [none, true, 1.0] }}
{{ "it's" }} {{ ["it's", 'say "hi"', 'both \' and "'] }} {{ ['a\nb', 'tab\t'] }}
{{ xs | sort }} {{ xs | sort(reverse=true) }} {{ ws | sort }} {{ ws | sort(case_sensitive=true) }} {{ users | sort(attribute='age') | map(attribute='name') | list }}
{{ xs | max }} {{ xs | min }} {{ users | max(attribute='age') }} {{ ws | max }} {{ ws | min(case_sensitive=true) }}
{{ xs | sum }} {{ users | sum(attribute='age') }} {{ [1.5, 2] | sum }} {{ xs | sum(start=10) }}
{{ s | trim }}|{{ s | trim('  H') }}|{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ s.split() }}|{{ s.split(',') }}
{{ u | upper }} {{ u | title }} {{ u | capitalize }} {{ u | length }} {{ u[1] }} {{ u[-1] }} {{ u[::-1] }} {{ u[1:4] }} {{ u | list }}
{{ long | truncate(30) }}|{{ long | truncate(30, true) }}|{{ long | truncate(30, false, '…') }}|{{ long | truncate(30, leeway=0) }}
{{ long | wordwrap(25) }}
{{ long | wordwrap(12, break_long_words=false) }}
{{ 'a-very-long-hyphenated-word-here and more' | wordwrap(10) }}
{{ html }} {{ html | e }} {{ html | striptags }} {{ html | safe }} {{ html | escape | escape }} {{ html | forceescape }}
{{ 'Hello %s, %d, %5.1f, %-4s|, %x, %o, %e, %g, %r' % ('a', 42, 3.14159, 'ab', 255, 8, 12345.678, 0.00001234, 'q') }}
{{ '%(name)s is %(n)d' % {'name': 'x', 'n': 3} }} {{ '%c%c' % (72, 'i') }} {{ '%+d %+d % d' % (5, -5, 5) }} {{ '%#x %#o %05.1f %-6.2e|' % (255, 8, 2.5, 1234.5) }}
{{ '{} and {}'.format(1, 2) }} {{ '{0:>5}|{0:<5}|{0:^5}|{0:*^7}'.format('ab') }} {{ '{:,} {:.3f} {:e} {:%} {:08.2f} {:+d} {:x} {:#b}'.format(1234567, 3.14159, 1234.5, 0.25, 3.14159, 5, 255, 5) }}
{{ '{name}-{n:03d}'.format(name='a', n=7) }} {{ '{0[0]} {0[1]}'.format(xs) }} {{ '{d[a]}'.format(d=d) }}
{{ d | dictsort }} {{ d | dictsort(reverse=true) }} {{ d | dictsort(by='value') if false else '' }} {{ d | items | list }} {{ d.keys() | list }} {{ d.values() | list }}
{% for k in d %}{{ k }},{% endfor %} {% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}
{{ users | groupby('role') }} {{ users | groupby('role') | map(attribute='grouper') | list }}
{{ users | selectattr('age', 'gt', 25) | map(attribute='name') | join(',') }} {{ users | rejectattr('role', 'equalto', 'user') | list | length }}
{{ xs | select('odd') | list }} {{ xs | reject('even') | list }} {{ range(10) | select('divisibleby', 3) | list }} {{ xs | map('string') | join('-') }}
{{ xs | join }} {{ xs | join(', ') }} {{ users | join(', ', attribute='name') }} {{ [1, none, 'a'] | join('|') }}
{{ xs | first }} {{ xs | last }} {{ empty | first }} {{ 'abc' | first }} {{ 'abc' | last }} {{ xs | length }} {{ d | length }} {{ 'abc' | count }}
{{ xs | reverse | list }} {{ 'abc' | reverse }} {{ xs | batch(2) | list }} {{ xs | batch(2, 'x') | list }} {{ range(7) | slice(3) | list }} {{ range(7) | slice(3, 0) | list }}
{{ 3.7 | int }} {{ '42' | int }} {{ 'x' | int }} {{ 'x' | int(5) }} {{ '3.9' | int }} {{ '0b101' | int(0, 2) }} {{ ' 12 ' | int }} {{ true | int }}
{{ 3 | float }} {{ '2.5' | float }} {{ 'nan' | float }} {{ 'inf' | float }} {{ none | float }}
{{ 3.14159 | round }} {{ 3.14159 | round(3) }} {{ 2.5 | round }} {{ 3.5 | round }} {{ 2.675 | round(2) }} {{ 3.14159 | round(1, 'floor') }} {{ 3.14159 | round(1, 'ceil') }} {{ -2.5 | round }} {{ 1234 | round(-2) }}
{{ -3 | abs }} {{ -3.5 | abs }} {{ 'abc' | center(9) }}| {{ 'abc' | center(8) }}|
{{ 'a\nb\n\nc' | indent(2) }}|{{ 'a\nb' | indent(2, true) }}|{{ 'a\n\nb' | indent(2, blank=true) }}|{{ 'a\nb' | indent('> ') }}
{{ 1000 | filesizeformat }} {{ 1024 | filesizeformat(true) }} {{ 123456789 | filesizeformat }} {{ 1 | filesizeformat }} {{ 0 | filesizeformat }}
{{ 'a b  c' | wordcount }} {{ "it's a dog-eat-dog world" | wordcount }} {{ 'hello world' | replace('o', '0') }} {{ 'aaa' | replace('a', 'b', 2) }}
{{ [1, 2, 2, 'a', 'A'] | unique | list }} {{ ['a', 'A'] | unique(case_sensitive=true) | list }} {{ users | unique(attribute='role') | map(attribute='name') | list }}
{{ {'a': 1, 'b': [1, 2]} | tojson }} {{ 'é<>' | tojson }} {{ [1.0, 2.5e-10, none, true] | tojson }} {{ {'b': 1, 'a': {'d': 1, 'c': 2}} | tojson(indent=1) }}
{{ 'hello world' | urlencode }} {{ {'a': 'b c', 'd': 'é/'} | urlencode }} {{ [('x', 1), ('y', 2)] | urlencode }} {{ 'a/b?c=d&e' | urlencode }}
{{ 'Visit https://example.com/x?y=1 now' | urlize }} {{ 'mail me@example.com' | urlize }}
{{ {'class': 'x', 'id': 'y', 'n': none} | xmlattr }}
{{ 1 is odd }} {{ 2 is even }} {{ 6 is divisibleby 3 }} {{ none is none }} {{ 'a' is string }} {{ 1 is number }} {{ 1.0 is float }} {{ 1 is integer }} {{ true is boolean }} {{ d is mapping }} {{ xs is sequence }} {{ xs is iterable }} {{ name is defined }} {{ nope is undefined }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ xs is callable }} {{ range is callable }} {{ 3 is in xs }} {{ 'upper' is filter }} {{ 'odd' is test }} {{ 3 is ge 3 }} {{ 3 is ne 3 }} {{ html is escaped }} {{ html|e is escaped }}
{{ 1 < 2 < 3 }} {{ 1 == 1.0 }} {{ 'a' ~ 1 ~ none ~ true }} {{ 'ab' * 3 }} {{ [1] * 3 }} {{ [1] + [2] }} {{ 'a' in 'cat' }} {{ 2 in xs }} {{ 'z' in d }} {{ 'q' not in d }} {{ not none }}
{{ true and 'yes' }} {{ false or 'no' }} {{ none or 0 or [] or 'last' }} {{ 0 and 1 }} {{ 1 if t else 2 }} {{ 'x' if none else 'y' }}
{{ xs[0] }} {{ xs[-1] }} {{ xs[5] }} {{ xs[1:] }} {{ xs[:-1] }} {{ xs[::2] }} {{ xs[::-1] }} {{ d['z'] }} {{ d.z }} {{ d['nope'] }} {{ nested.a.b[1].c }} {{ nested['a']['b'][0] }}
{{ big }} {{ big + 1 }} {{ big * big }} {{ -big // 7 }} {{ big % 97 }} {{ 2 ** 70 }} {{ (2 ** 70) / 2 }} {{ 7 // -2 }} {{ -7 % -2 }} {{ 7.5 // 2 }} {{ -7.5 // 2 }} {{ 2 ** -2 }} {{ 0 ** 0 }}
{% set a = [1, 2] %}{% set _ = a.append(3) %}{% set _ = a.insert(0, 0) %}{% set p = a.pop() %}{{ a }} {{ p }} {{ a.index(1) }} {{ a.count(2) }} {% set _ = a.reverse() %}{{ a }} {% set _ = a.sort() %}{{ a }} {% set _ = a.extend([9]) %}{{ a }} {% set _ = a.remove(9) %}{{ a }}
{% set m = {'x': 1} %}{% set _ = m.update({'y': 2}) %}{{ m }} {{ m.get('x') }} {{ m.get('q', 'dflt') }} {{ m.pop('x') }} {{ m }} {{ m.setdefault('z', 5) }} {{ m }}
{{ 'a,b,,c'.split(',') }} {{ 'a b c'.split(' ', 1) }} {{ 'a b c'.rsplit(' ', 1) }} {{ '  a  b  '.split() }} {{ 'a\nb\r\nc'.splitlines() }} {{ 'ab'.partition('x') }} {{ 'a=b=c'.rpartition('=') }}
{{ 'hello'.find('l') }} {{ 'hello'.rfind('l') }} {{ 'hello'.count('l') }} {{ 'hello'.startswith(('x', 'he')) }} {{ 'hello'.endswith('lo') }} {{ 'hello'.index('e') }} {{ 'Hello World'.swapcase() }} {{ 'hello world'.title() }} {{ "they're bill's" .title() }} {{ 'hello'.capitalize() }} {{ 'ab'.zfill(5) }} {{ '-5'.zfill(4) }} {{ 'ab'.ljust(4, '*') }} {{ 'ab'.rjust(4) }} {{ 'ab'.center(7, '-') }} {{ 'a\tb'.expandtabs(4) }} {{ '123'.isdigit() }} {{ 'abc'.isalpha() }} {{ ' '.isspace() }} {{ 'Ab'.istitle() }} {{ 'x'.join(['1', '2']) }} {{ 'abc'.replace('b', '') }} {{ 'prefix_x'.removeprefix('prefix_') }}
{% for x in xs %}{{ loop.index0 }}{{ loop.revindex }}{{ loop.last }}{{ loop.length }}{% if loop.previtem is defined %}p{{ loop.previtem }}{% endif %}{% if loop.nextitem is defined %}n{{ loop.nextitem }}{% endif %}{{ loop.changed(x > 1) }} {% endfor %}
{% for x in xs if x > 1 %}{{ x }}{{ loop.index }}{% else %}none{% endfor %} {% for x in empty %}{{ x }}{% else %}empty{% endfor %} {% for a, b in [(1, 2), (3, 4)] %}{{ a + b }}{% endfor %}
{% for u in users %}{{ loop.cycle('odd', 'even') }}{% endfor %} {% set c = cycler('a', 'b') %}{{ c.next() }}{{ c.next() }}{{ c.next() }}{{ c.current }} {% set j = joiner('|') %}{% for x in xs %}{{ j() }}{{ x }}{% endfor %}
{% macro greet(who, greeting='Hi') %}{{ greeting }} {{ who }}{% if kwargs %}{{ kwargs }}{% endif %}{% endmacro %}{{ greet('a') }} {{ greet('b', 'Yo') }} {{ greet(who='c', greeting='Hey') }} {{ greet.name }}
{% set ns = namespace(total=0, items=[]) %}{% for x in xs %}{% set ns.total = ns.total + x %}{% endfor %}{{ ns.total }} {{ ns.items }}
{% with a = 1, b = 2 %}{{ a + b }}{% endwith %} {% filter upper %}shout {{ name }}{% endfilter %} {% set blk | trim %}  spaced  {% endset %}[{{ blk }}]
{{ range(3) | list }} {{ range(1, 10, 3) | list }} {{ range(5, 0, -2) | list }} {{ dict(a=1, b=2) }} {{ dict({'x': 1}, y=2) }} {{ lipsum(2, false) | wordcount > 0 }}
{{ "%s" % none }} {{ "%s" % [1, 'a'] }} {{ "%d%%" % 50 }} {{ "%.0f" % 2.5 }} {{ "%.0f" % 3.5 }} {{ "%5.2s|" % 'abc' }} {{ "%i" % 3.9 }}
{{ 12345.6789 | round(2) }} {{ 1e100 }} {{ 1.5e300 * 1e10 }} {{ -0.0 }} {{ 5 / 2 * 2 }} {{ 3 - 5.0 }} {{ 17 // 5.0 }} {{ 2 ** 62 + 2 ** 62 }}
{{ 'abc' < 'abd' }} {{ [1, 2] < [1, 3] }} {{ (1, 2) == (1, 2) }} {{ [1, 2] == (1, 2) }} {{ 1 == true }} {{ 0 == false }} {{ none == none }} {{ missing == missing }}
{{ name|attr('upper') is callable }} {{ d | attr('z') }} {{ users | map(attribute='nope', default='?') | list }}
{{ xs|random in xs }} {{ [] | sum }} {{ [] | join }} {{ '' | length }} {{ none | string }} {{ 3 | string + 'x' }} {{ [1,2] | string }}
{{ "  multiple   spaces  " | wordcount }} {{ "a\tb" | replace("\t", " ") }} {{ 'abc' | batch(2) | list }} {{ 'x' | pprint }} {{ d | pprint }}
''',
))

BATCHES.append(dict(
    name='b2',
    vars={"name": "Ada", "xs": [1, 2, 3], "d": {"b": 1, "a": 2}, "none": None, "user": {"name": "u", "tags": ["x"]}, "flag": False, "n": 5},
    partials={"part": "[{{ name }}{{ local | default('') }}]", "mac": "{% macro m(x) %}<{{ x }}>{% endmacro %}{% set val = 42 %}",
     "base": "A{% block a %}base-a{% endblock %}B{% block b %}base-b{% endblock %}C", "child": "{% extends 'base' %}{% block a %}child-a {{ super() }}{% endblock %}",
     "usesname": "{{ name }}-{{ xs | length }}"},
    templates=r'''
a {{- name -}} b
a {%- if true -%} b {%- endif -%} c
  {% if true %}
  x
  {% endif %}
{% for x in xs -%}
{{ x }}
{%- endfor %}
{{ name }}{# comment #}{{ name }}{#- trimmed -#} {{ name }}
{% raw %}{{ not rendered }}{% endraw %}
{%- raw %} spaced {% endraw -%}|
{% set x = 1 %}{% if true %}{% set x = 2 %}{% endif %}{{ x }}
{% set x = 1 %}{% for i in xs %}{% set x = i %}{% endfor %}{{ x }}
{% set x = 1 %}{% with %}{% set x = 2 %}{{ x }}{% endwith %}{{ x }}
{% macro m(a, b) %}{{ a }}|{{ b }}{% endmacro %}{{ m(1) }}
{% macro m() %}{{ varargs }}{% endmacro %}{{ m(1, 2) }}
{% macro m() %}x{% endmacro %}{{ m(1) }}
{% macro m(a) %}x{% endmacro %}{{ m(b=1) }}
{% macro outer() %}{% macro inner() %}in{% endmacro %}{{ inner() }}out{% endmacro %}{{ outer() }}
{% macro m() %}{{ caller() }}{{ caller() }}{% endmacro %}{% call m() %}c{% endcall %}
{% macro list(items) %}<ul>{% for i in items %}<li>{{ caller(i) }}</li>{% endfor %}</ul>{% endmacro %}{% call(item) list(xs) %}{{ item * 2 }}{% endcall %}
{% set a, b = 'xy' %}{{ b }}{{ a }}
{% set a, b = [1, 2, 3] %}
{% for a, b in [[1, 2], [3]] %}{{ a }}{% endfor %}
{{ xs.0 }} {{ user.tags.0 }} {{ d.items() }}
{{ {'a': 1}.a }} {{ [1, 2].1 }}
{{ 'x' ~ 1 + 2 }}
{{ 1 + 2 * 3 - 4 / 2 }} {{ (1 + 2) * 3 }} {{ -2 ** 2 }} {{ 2 * -1 }} {{ not 1 == 2 }} {{ 1 in [1] and 2 not in [1] }}
{{ name | upper if flag else name | lower }}
{{ [1, 2, 3] | map('string') | map('upper') | join }}
{{ "a" if "b" }}
{% if xs is not none and xs | length > 2 %}long{% endif %}
{% for i in range(3) %}{{ loop.index }}{% if loop.last %}!{% endif %}{% endfor %}
{% for i in range(2) %}{% for j in range(2) %}{{ loop.depth }}{{ loop.depth0 }}{% endfor %}{% endfor %}
{{ x }}{% set x = 5 %}{{ x }}
{% set l = [] %}{% for i in xs %}{% set _ = l.append(i * 10) %}{% endfor %}{{ l }}
{{ name[0] }}{{ name[1:] }}{{ name * 2 }}
{{ none.attr }}|{{ none['x'] }}
{{ user.missing.deeper }}
{{ xs.missing }}
{{ missing | length }} {{ missing | list }} {{ missing | upper }} {{ missing | default('d') }} {{ missing is defined }}
{% for x in missing %}{{ x }}{% endfor %}ok
{% if missing %}y{% else %}n{% endif %}
{{ missing + 1 }}
{{ missing ~ 'x' }}
{{ missing == none }}
{{ missing.attr }}
{{ missing() }}
{{ 'a' < 1 }}
{{ [1, 2] | sum(attribute=none) }}
{{ 1 / 0.0 }}
{{ xs | join(1) }}
{{ (1, 2) | list }} {{ 'ab' | list }} {{ d | list }}
{% include 'part' %}
{% set local = '!' %}{% include 'part' %}
{% for name in ['loopname'] %}{% include 'part' %}{% endfor %}
{% include 'part' without context %}
{% include 'missing' ignore missing %}ok
{% import 'mac' as mm %}{{ mm.m(1) }}{{ mm.val }}
{% from 'mac' import m, val %}{{ m(2) }}{{ val }}
{% from 'mac' import nope %}{{ nope }}
{% extends 'child' %}
{% include 'usesname' %}
{{ 10 | string | length }} {{ 1.0 | string }} {{ true | string }}
{{ '%s' % 'x' ~ 'y' }}
{{ "{0}" .format(none) }}
{{ d.b + d['a'] }}
{% set d2 = d %}{% set _ = d2.update({'c': 3}) %}{{ d }}
{{ xs | selectattr('real') | list }}
{{ 1 if 0 }}|{{ 1 if 0 else 2 }}
{{ loop }}
{{ range(3)[1] }} {{ range(5)[1:3] | list }}
{{ 'abc'[5] }}|{{ 'abc'[-5] }}
{{ xs | batch(0) }}
{{ [3, 1] | sort | first }}{{ (xs | reverse) | first }}
{{ 0.1 + 0.7 }} {{ 3 * 1.1 }} {{ 1e16 }} {{ 1.0e15 }} {{ 123456789012345678 * 1.0 }} {{ 1 / 7 }} {{ 2.0 ** 0.5 * 2 }}
{{ '%.3g' % 1234567 }} {{ '%g' % 0.0001 }} {{ '%g' % 1e-5 }} {{ '%10.3e|' % 12345.678 }} {{ '%s' % 1e20 }} {{ '%s' % 1.5 }}
{{ '{:g}'.format(1e-5) }} {{ '{}'.format(1.0) }} {{ '{:.2}'.format(3.14159) }} {{ '{:>8.3f}'.format(-3.14159) }} {{ '{:010.3f}'.format(-3.14159) }} {{ '{:_}'.format(10 ** 7) }}
''',
))

BATCHES.append(dict(
    name='b3',
    vars={"t": True, "f": False, "xs": [1, 2], "name": "Ada"},
    partials={"base": "A{% block a %}base{% endblock %}B", "kid": "before{% extends 'base' %}mid{% block a %}kid{% endblock %}after"},
    templates=r'''
{{ [1 if t else 2] }}
{{ (1 if t else 2) + 1 }}
{{ xs | join(',' if t else ';') }}
{% set x = (1 if t else 2) + 1 %}{{ x }}
{{ 3 > 2 > 1 }} {{ 1 < 3 > 2 }} {{ 1 == 1 == 1 }}
{{ '\x41\101\u00e9\n' }}
{{ "tab\there" }} {{ 'q\'s' }} {{ "dq\"s" }} {{ 'back\\slash' }}
{{ range(3) }}
{{ xs | map('string') }}
{% include 'kid' %}
{{ self }}
{{ 'a' 'b' }}
{{ 99999999999999999999 }}
{{ 1_000.5 }} {{ 0x1F }} {{ 0o17 }} {{ 0b11 }}
{{ .5 }}
{{ 1. }}
{{ xs[0:1:1] }} {{ name[::2] }}
{{ t is true }} {{ f is false }} {{ name is sameas 'Ada' }}
{{ {'a': 1} | dictsort(true) }}
{{ "%(x)s %(x)s" % {'x': 1} }}
{% if t %}a{% elif f %}b{% else %}c{% endif %}
{{ name|e|upper }} {{ name|length is odd }}
{{ -xs[0] }} {{ not t is false }}
{% for i in xs %}{{ i }}{% if loop.first %}F{% endif %}{% endfor %}
{{ foo.bar if foo is defined else 'nofoo' }}
{{ xs | length > 1 and name }}
{% set ns = namespace() %}{% set ns.a = 1 %}{{ ns.a }}
{{ name ~ xs|join }}
{% macro m(a, b=a) %}{{ b }}{% endmacro %}{{ m(1) }}
{{ true is not none }}
{{ xs|first is number }}
{{ [1,2,3][1:] | list }}
{{ name.upper }}
{{ "x" is in "xyz" }}
{%- if true %}
  indented
{%- endif %}
{% set x %}a{% endset %}{{ x | length }}
{{ 7 is divisibleby(7) }}
''',
))


# Scoping: which tags keep their assignments to themselves (for and its
# else, with, macro, call, filter, autoescape, block, block set) and which
# do not (if).
BATCHES.append(dict(
    name='scope',
    vars={"xs": [1, 2], "empty": []},
    partials={},
    templates=r"""
{% set x = 1 %}{% autoescape true %}{% set x = 2 %}{{ x }}{% endautoescape %}{{ x }}
{% autoescape false %}{% set y = 2 %}{% endautoescape %}[{{ y }}]
{% set x = 1 %}{% autoescape true %}{{ x }}{% set x = '<' %}{{ x }}{% endautoescape %}{{ x }}
{% set x = 1 %}{% filter upper %}{% set x = 'b' %}{{ x }}{% endfilter %}{{ x }}
{% filter upper %}{% macro m() %}q{% endmacro %}{% endfilter %}{{ m is defined }}
{% set x = 1 %}{% with %}{% set x = 2 %}{% endwith %}{{ x }}
{% set x = 1 %}{% with x = 3 %}{% autoescape true %}{% set x = 4 %}{% endautoescape %}{{ x }}{% endwith %}{{ x }}
{% set x = 1 %}{% for i in xs %}{% set x = i %}{% endfor %}{{ x }}
{% set x = 1 %}{% for i in empty %}{% else %}{% set x = 2 %}{{ x }}{% endfor %}{{ x }}
{% set x = 1 %}{% if true %}{% set x = 2 %}{% endif %}{{ x }}
{% set x = 1 %}{% autoescape false %}{% if true %}{% set x = 2 %}{% endif %}{{ x }}{% endautoescape %}{{ x }}
{% set x = 1 %}{% block b %}{% set x = 2 %}{{ x }}{% endblock %}{{ x }}
{% set x = 1 %}{% set y %}{% set x = 2 %}{{ x }}{% endset %}{{ x }}{{ y }}
{% set x = 1 %}{% macro m() %}{% set x = 2 %}{{ x }}{% endmacro %}{{ m() }}{{ x }}
{% set x = 1 %}{% macro m() %}{{ caller() }}{% endmacro %}{% call m() %}{% set x = 2 %}{{ x }}{% endcall %}{{ x }}
{% set ns = namespace(a=1) %}{% autoescape false %}{% set ns.a = 2 %}{% endautoescape %}{% filter upper %}{% set ns.b = 'c' %}{% endfilter %}{{ ns.a }}{{ ns.b }}
{% autoescape true %}{% filter upper %}{% set x = 1 %}{{ x }}{% endfilter %}{{ x }}{% endautoescape %}[{{ x }}]
""",
))


# Filters on none and other false values: map, select, reject, selectattr
# and rejectattr give nothing when the value is false (Jinja2 checks "if
# value" first); the other sequence filters raise, as do indent, wordwrap
# and truncate on values that are not strings.
BATCHES.append(dict(
    name='none',
    vars={"none": None, "xs": [3, 1, 2], "users": [{"name": "al"}], "zero": 0, "no": False},
    partials={},
    templates=r"""
{{ none|map("upper")|list }}|{{ none|map(attribute="name")|list }}|{{ none|map("nosuch")|list }}|{{ none|map|list }}
{{ none|select|list }}|{{ none|select("odd")|list }}|{{ none|reject("odd")|list }}|{{ none|select("nosuch")|list }}
{{ none|selectattr("name")|list }}|{{ none|rejectattr("name", "equalto", "al")|list }}|{{ none|selectattr|list }}
{{ zero|map("upper")|list }}|{{ no|select|list }}|{{ ''|reject|list }}|{{ []|map("nosuch")|list }}
{{ none|map("upper")|join(",") }}|{{ none|select|first }}|{{ none|reject|sort }}|{{ none|map("upper")|list|length }}|{{ none|map("string")|sum }}
{% for x in none|map("upper") %}{{ x }}{% else %}empty{% endfor %}
{{ none|map("upper")|map("lower")|list == [] }} {{ none|select|unique|list }} {{ none|reject|max }}|{{ none|selectattr("x")|batch(2)|list }}
{{ missing|map("upper")|list }}|{{ missing|select|list }}
{{ 5|map("upper")|list }}
{{ true|select|list }}
{{ none|join }}
{{ none|join(",") }}
{{ none|list }}
{{ none|first }}
{{ none|last }}
{{ none|length }}
{{ none|count }}
{{ none|sort }}
{{ none|unique|list }}
{{ none|sum }}
{{ none|min }}
{{ none|max }}
{{ none|batch(2)|list }}
{{ none|slice(2)|list }}
{{ none|groupby("x") }}
{{ none|items|list }}
{{ none|dictsort }}
{{ none|reverse }}
{{ none|random }}
{{ none|xmlattr }}
{{ none|abs }}
{{ none|round }}
{{ none|filesizeformat }}
{{ none|indent }}
{{ zero|indent }}
{{ xs|indent }}
{{ missing|indent }}
{{ none|wordwrap(3) }}
{{ xs|wordwrap(3) }}
{{ missing|wordwrap(3) }}
{{ none|truncate(3) }}
{{ zero|truncate }}
{{ xs|truncate(3) }}|{{ xs|truncate(1, end='') }}|{{ {'a': 1}|truncate(3) }}|{{ missing|truncate(3) }}|{{ 'abcdefghijk'|truncate(3) }}
{{ ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j']|truncate(3) }}
{{ none|tojson }} {{ none|string }} {{ none|default("d") }} {{ none|d("d", true) }} {{ none|upper }} {{ none|trim }} {{ none|replace("N", "n") }} {{ none|int }} {{ none|float }} {{ none|wordcount }} {{ none|center(8) }}| {{ none|e }} {{ none|striptags }} {{ none|urlencode }} {{ none|pprint }} {{ none|format }} {{ none|attr("x") }}|{{ none|urlize }} {{ none|safe }}
""",
))


# Syntax: what Jinja2 accepts must parse (integer attribute chains,
# operators and expressions spread over lines), what it rejects must not
# (names that are not identifiers, characters the lexer does not know).
# The templates are a list here, as some hold newlines.
BATCHES.append(dict(
    name='syntax',
    vars={"xs": [3, 1, 2], "name": "Ada", "d": {"b": 1, "a": 2}, "nested": [[1, [2, 3]]]},
    partials={},
    template_list=[
        "{{ [[1]].0.0 }} {{ [[1, 2], [3]].0.1 }} {{ {'a': [[7]]}.a.0.0 }} {{ nested.0.1.1 }} {{ [[1]].0 .0 }} {{ xs.1_0 }}",
        "{{ [[[5]]].0.0.0 }} {{ [[[[[6]]]]].0.0.0.0.0 }}",
        "{{ [[1]].0. }}",
        "{{ [[1]]. 0.0 }}",
        "{{ d.in }}|{{ d.is }}|{{ d.not }}",
        "{{ name +\nname }}",
        "{% set x = [\n  1,\n  2\n] %}{{ x }}",
        "{{ xs|join(\n',') }}|{{ 'a'\n~\nname }}|{{ name\n|upper }}|{{ name|upper\n}}",
        "{% for x in\nxs %}{{ x }}{% endfor %}|{{ name is\ndefined }}|{{ true and\nfalse }}|{{ false or\n1 }}|{{ not\nfalse }}",
        "{{ 1 in[1] }} {{ true and(false) }} {{ 1 in(xs) }}",
        "{%\nif true %}y{%\nendif %}|{%- \n if true -%} y {%-\nendif %}|",
        "{{ name\n-}} x",
        "{{ name\r\n}}|{{ 'a'\r\n~ name }}",
        "{{ name\u00a0}}|{{\u00a0name }}|{{ name\u2003+ name }}|{{ name\f}}",
        "{{ \u00e9 }}|{{ _a }}|{{ a_1 }}",
        "{{ 1a }}",
        "{{ 1abc }}",
        "{{ 1e }}",
        "{% set 1a = 2 %}",
        "{{ a\U0001F600 }}",
        "{{ \U0001F600 }}",
        "{{ ab\U0001F600c }}",
        "{% set x\U0001F600 = 1 %}",
        "{{ a ? b }}",
        "{{ a ; b }}",
        "{{ a $ b }}",
        "{{ name # c }}",
        "{{ name @ 1 }}",
        "{{ a`b }}",
        "{{ d|attr('items')()|list }} {{ name|attr('upper')() }} {{ name|attr('replace')('A', 'a') }} {{ name|attr('upper')()|lower }} {{ name|attr('upper') () }}",
        "{{ 'a' ~ name|attr('lower')() ~ '!' }} {{ not name|attr('startswith')('A') }} {{ d|attr('get')('a', 5) + 1 }} {{ [name|attr('upper')(), 2] }} {{ name|attr('upper')() if true }}",
        "{{ x|default(name|attr('upper'))() }} {{ xs[0]|string|attr('zfill')(3) }} {{ name|attr('upper')()|attr('lower')() }} {{ -d.b|abs|string|attr('zfill')(2) }}",
        "{% macro m() %}M{{ caller() }}{% endmacro %}{% set ns = namespace(m=m) %}{% call ns|attr('m')() %}c{% endcall %}",
        "{% for c in name|attr('lower')() %}{{ c }}.{% endfor %}{% if name|attr('startswith')('A') %}yes{% endif %}",
        "{{ name|attr('upper')()() }}",
        "{{ d|attr('items')().x }}",
        "{{ d|attr('items')()[0] }}",
        "{{ {1: 2,} }}|{{ {1: 2, 3: 4,} }}|{{ {'a': {'b': 1,},} }}|{{ [1, 2,] }}|{{ (1, 2,) }}|{{ (1,) }}|{{ ((1,),) }}",
        "{{ dict(a=1,) }}|{{ range(3,)|list }}|{{ xs|join(',',) }}|{{ name.replace('A', 'a',) }}|{{ name|replace('A', 'a',)|upper }}",
        "{% with a = dict(x=1,) %}{{ a }}{% endwith %}{% if (1,) %}t{% endif %}{{ 'x' if (1,) else (2,) }}{% for x in (1,) %}{{ x }}{% endfor %}",
        "{{ {,} }}",
        "{{ {1: 2,,} }}",
        "{{ [1,,] }}",
        "{{ dict(,) }}",
        "{% macro m(a,) %}{{ a }}{% endmacro %}",
        "{% macro m(a) %}{{ caller(1) }}{% endmacro %}{% call(x,) m(1) %}{{ x }}{% endcall %}",
        "{% with a = 1, %}{{ a }}{% endwith %}",
        "{{ 1, 2 }}|{{ 1, }}|{{ 'a', 'b'|upper }}|{{ 1 if false else 3, 2 }}|{{ (1, 2), }}|{{- 1, 2 -}}|",
        "{% for a in 'x', 'y' %}{{ a }}{% endfor %}|{% for a in 'x', 'y' if a != 'x' %}{{ a }}{% endfor %}|{% for a in 1, %}{{ a }}{% endfor %}",
        "{{ ,1 }}",
        "{% for a in 'x' if true, 'y' %}{{ a }}{% endfor %}",
        "{{\n0x1F\n}}|{{ 1 +\n0o17 }}|{{\n0b1_1 }}|{{\n1_000.5 }}",
    ],
))


# Blocks see the template's context (its variables and top-level
# assignments), not the names around them, unless they are scoped.
BATCHES.append(dict(
    name='blocks',
    vars={"xs": [1, 2]},
    partials={
        "layout": "{% for x in xs %}<{% block item %}{{ x }}{% endblock %}>{% endfor %}"
                  "{% for x in xs %}({% block sitem scoped %}{{ x }}{% endblock %}){% endfor %}",
        "loops": "{% for x in xs %}{% block b %}[{{ x }}]{% endblock %}{% endfor %}",
        "mac": "{% set top = 'T' %}{% macro m(z) %}{% block mb %}{{ z }}{{ top }}{% endblock %}{% endmacro %}",
    },
    templates=r"""
{% for x in xs %}{% block b %}[{{ x }}]{% endblock %}{% endfor %}
{% for x in xs %}{% block b scoped %}[{{ x }}{{ loop.index }}]{% endblock %}{% endfor %}
{% set y = 1 %}{% block b %}{{ y }}{% endblock %}
{% with y = 1 %}{% block b %}{{ y }}{% endblock %}{% endwith %}
{% if true %}{% set y = 1 %}{% block b %}{{ y }}{% endblock %}{% endif %}
{% macro m(z) %}{% block b %}{{ z }}{% endblock %}{% endmacro %}{{ m(1) }}
{% block a %}{% set q = 1 %}{% block b %}{{ q }}{% endblock %}{% endblock %}
{% extends 'layout' %}{% block item %}i{{ x }}{% endblock %}{% block sitem %}s{{ x }}{% endblock %}
{% extends 'layout' %}{% set x = 'top' %}{% block item %}{{ x }}{% endblock %}
{% for x in xs %}{% include 'loops' %}{% endfor %}
{% from 'mac' import m %}{{ m(1) }}
""",
))


# The special names: assigning to loop anywhere in a for loop is an error; a
# macro or call block that reads caller before assigning it must not have a
# caller parameter without a default. Macro objects' attributes.
BATCHES.append(dict(
    name='special',
    vars={"xs": [1, 2]},
    partials={},
    templates=r"""
{% for loop in xs %}{{ loop }}{% endfor %}
{% for a, loop in [[1, 2]] %}{% endfor %}
{% for (loop) in xs %}{% endfor %}
{% for x in xs %}{% for loop in xs %}{% endfor %}{% endfor %}
{% if false %}{% for loop in xs %}{% endfor %}{% endif %}
{% macro m() %}{% for loop in xs %}{% endfor %}{% endmacro %}
{% for x in xs %}{% set loop = 1 %}{{ loop }}{% endfor %}
{% for x in xs %}{% set loop %}a{% endset %}{% endfor %}
{% for x in xs %}{% else %}{% set loop = 1 %}{% endfor %}
{% for x in xs %}{% macro m() %}{% set loop = 1 %}{% endmacro %}{% endfor %}
{% for x in xs %}{% block b %}{% set loop = 1 %}{% endblock %}{% endfor %}
{% for x in xs %}{% set a, loop = 1, 2 %}{% endfor %}
{% for x in xs %}{% filter upper %}{% set loop = 1 %}{% endfilter %}{% endfor %}
{% for x in xs %}{% with loop = 1 %}{{ loop }}{% endwith %}{% endfor %}
{% for x in xs %}{% macro m(loop) %}{{ loop }}{% endmacro %}{{ m(x) }}{% endfor %}
{% set loop = 1 %}{% for x in xs %}{{ loop.index }}{% endfor %}{{ loop }}
{% with loop = 1 %}{{ loop }}{% endwith %}
{% macro m(loop) %}{{ loop }}{% endmacro %}{{ m(1) }}
{% set ns = namespace(loop=0) %}{% for x in xs %}{% set ns.loop = ns.loop + 1 %}{% endfor %}{{ ns.loop }}
{% macro m(caller) %}{{ caller }}{% endmacro %}
{% macro m(caller) %}{{ caller }}{% endmacro %}{{ m(1) }}
{% macro m(caller) %}{% endmacro %}{{ m(1) }}
{% macro m(a, caller) %}{{ caller() }}{% endmacro %}
{% macro m(caller, a) %}{{ caller }}{% endmacro %}
{% macro m(caller, a=1) %}{{ caller }}{% endmacro %}
{% macro m(a=1, caller=2) %}{{ caller }}{% endmacro %}{{ m() }}|{% call m() %}c{% endcall %}
{% macro m(caller=2) %}{{ caller() }}{% endmacro %}{% call m() %}c{% endcall %}
{% macro m(caller) %}{% if false %}{{ caller }}{% endif %}{% endmacro %}
{% macro m(caller) %}{% macro n() %}{{ caller }}{% endmacro %}{% endmacro %}
{% macro m(caller) %}{% call n() %}{% endcall %}{% endmacro %}
{% macro m(caller) %}{% call n() %}{{ caller }}{% endcall %}{% endmacro %}
{% macro m(caller) %}{% set caller = 1 %}{{ caller }}{% endmacro %}{{ m(5) }}
{% macro m(caller) %}{{ caller }}{% set caller = 1 %}{% endmacro %}
{% macro m(caller) %}{% set caller = caller %}{{ caller }}{% endmacro %}{{ m(5) }}
{% macro m(caller) %}{% for caller in [caller] %}{{ caller }}{% endfor %}{% endmacro %}{{ m(5) }}
{% macro m(caller) %}{% with caller = 3 %}{% endwith %}{{ caller }}{% endmacro %}{{ m(5) }}
{% macro m(caller) %}{% macro n(caller) %}{% endmacro %}{{ caller }}{% endmacro %}{{ m(5) }}
{% macro m(caller) %}{% block b %}{{ caller }}{% endblock %}{% endmacro %}{{ m(5) }}
{% call(caller) m() %}{{ caller }}{% endcall %}
{% macro m() %}{{ caller(1) }}{% endmacro %}{% call(caller) m() %}{{ caller }}{% endcall %}
{% macro m() %}{{ caller(1) }}{% endmacro %}{% call(caller=5) m() %}{{ caller }}{% endcall %}
{% if false %}{% macro m(caller) %}{{ caller }}{% endmacro %}{% endif %}ok
{% macro m(caller) %}{% if true %}{% set caller = 2 %}{% endif %}{{ caller }}{% endmacro %}{{ m(1) }}
{% macro m(caller) %}{% filter upper %}{{ caller }}{% endfilter %}{% endmacro %}
{% macro m(caller) %}{{ x|default(caller) }}{% endmacro %}
{% macro m() %}{{ caller }}|{{ caller.name }}|{{ caller.arguments }}|{{ caller.catch_kwargs }}|{{ caller.caller }}{% endmacro %}{% call(a, b=1) m() %}c{% endcall %}
{% macro m(x, y=2) %}{{ caller() }}{{ varargs }}{% endmacro %}{{ m }}|{{ m.name }}|{{ m.arguments }}|{{ m.catch_varargs }}|{{ m.caller }}|{{ m.catch_kwargs }}
""",
))


# Values: the methods of tuples.
BATCHES.append(dict(
    name='values',
    vars={"t": [1, 2, 1]},
    partials={},
    templates=r"""
{{ (1, 2, 1).count(1) }}|{{ (1, 2).index(2) }}|{{ (1, 2)|attr("count")(1) }}|{{ (1, 2).count is callable }}
{{ (1, 2).index(5) }}
{{ (1, 2).append(5) }}
""",
))


# Known differences, each listed with its reason in extraDifferences
# (corpus_test.go) and in FIDELITY.md: deliberate ones (unknown filters and
# tests fail at load, dunder attributes do not exist) and the rest.
BATCHES.append(dict(
    name='known',
    vars={"name": "Ada"},
    partials={},
    template_list=[
        "{% if false %}{{ x|nosuchfilter }}{% endif %}ok",
        "{% if false %}{{ x is nosuchtest }}{% endif %}ok",
        "{{ name.__class__ }}",
        "{{ name|attr('__class__') }}|{{ name['__class__'] }}",
        "{{ [1, 2]|map('string')|length }}",
        "{{ [1, 2]|map('string')|last }}",
        "{{ 1.2.3 }}",
        "{%\nraw %}{{ x }}{% endraw %}",
    ],
))



def render(env, template, variables):
    try:
        return env.from_string(template).render(**json.loads(json.dumps(variables))), None
    except Exception as e:  # noqa: BLE001 - any Jinja2 failure is an expected error
        return None, type(e).__name__


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "extra_corpus.jsonl"), "w", encoding="utf-8") as f:
        for batch in BATCHES:
            loader = jinja2.DictLoader(batch["partials"])
            lenient = jinja2.Environment(keep_trailing_newline=True, loader=loader)
            strict = jinja2.Environment(keep_trailing_newline=True, loader=loader, undefined=jinja2.StrictUndefined)
            lines = batch.get("template_list") or [t for t in batch["templates"].split("\n") if t.strip()]
            for n, template in enumerate(lines, 1):
                expected, error = render(lenient, template, batch["vars"])
                s_expected, s_error = render(strict, template, batch["vars"])
                case = {
                    "id": f"{batch['name']}__{n:03d}",
                    "template": template,
                    "vars": batch["vars"],
                    "partials": batch["partials"],
                    "expected": expected,
                    "expected_strict": None if (s_expected, s_error) == (expected, error)
                    else ({"error": s_error} if s_error else s_expected),
                    "error": error,
                }
                f.write(json.dumps(case, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
