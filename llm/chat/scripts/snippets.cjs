// snippets.cjs renders small templates that exercise the Jinja engine beyond the three
// chat templates (filters, tests, operators, scoping, macros, output of each type) with
// @huggingface/jinja@0.5.11, and writes ../testdata/snippets.json: the template, the
// context and the text or error. The Go test renders the same and compares.
//
//	mkdir -p /tmp/jinja && (cd /tmp/jinja && npm install -E @huggingface/jinja@0.5.11)
//	NODE_PATH=/tmp/jinja/node_modules node llm/chat/scripts/snippets.cjs
"use strict";
const fs = require("fs");
const path = require("path");
const { Template } = require("@huggingface/jinja");

const context = {
  s: "  Hello, World!  ",
  w: "one two  three\tfour\nfive",
  e: "",
  u: "Grüße ßtraße 👋 ǅ",
  n: 7,
  z: 0,
  f: 2.5,
  t: true,
  no: null,
  xs: [3, 1, 2, 3],
  ws: ["b", "A", "c"],
  empty: [],
  d: { b: 2, a: "x", c: [1, { k: "v" }] },
  people: [
    { name: "Ann", age: 31, tags: ["x"] },
    { name: "bob", age: 25 },
    { name: "Cy", age: 40, tags: [] },
  ],
  msgs: [
    { role: "system", content: "sys" },
    { role: "user", content: "hi" },
  ],
};

const snippets = [
  // Output of each type.
  "{{ 1 }}|{{ 1.0 }}|{{ 2.5 }}|{{ -0.0 }}|{{ 10 / 4 }}|{{ 0.1 + 0.2 }}|{{ 7 / 7 }}",
  "{{ true }}|{{ false }}|{{ none }}|{{ True }}|{{ None }}|{{ undefined_name }}|x",
  "{{ xs }}|{{ d }}|{{ empty }}|{{ people[0] }}|{{ {} }}",
  "{{ (1, 'a') }}",
  "{{ 'a' + 1 }}|{{ 'a' + 1.5 }}|{{ 'a' + 2.0 }}|{{ 'a' ~ true }}|{{ 1 ~ 2 }}|{{ 'x' + xs }}",
  "{{ 10 // 3 }}|{{ -7 // 2 }}|{{ 7 % 3 }}|{{ -7 % 3 }}|{{ 2 ** 10 }}|{{ 2 ** -1 }}|{{ 7.5 // 2 }}|{{ 3 * 'ab' if false else 3 * 4 }}",
  "{{ n > 3 }}|{{ n <= 3 }}|{{ n == 7.0 }}|{{ n != '7' }}|{{ none == undefined_name }}|{{ t == 1 }}|{{ 'a' == 'a' }}",
  // Whitespace control, comments, trim_blocks and lstrip_blocks.
  "a  {{- ' b ' -}}  c\n  {%- if true %}\n  d\n  {% endif %}\ne {# note #}\n   {# x -#}   f",
  "line\n    {% if true %}\n    kept\n    {% endif %}\nend\n",
  "{% for i in xs %}\n{{ i }}\n{% endfor %}\n",
  "{{ 'it\\'s' }}|{{ \"q\\\"d\" }}|{{ 'tab\\there' }}|{{ '\\x41\\u00e9' }}|{{ 'a' 'b' }}",
  // Strings.
  "{{ s | trim }}|{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ s.strip('! ') }}|{{ s | length }}",
  "{{ u | upper }}|{{ u | lower }}|{{ u | title }}|{{ 'hello wORLD_x y2z' | title }}|{{ 'élan' | capitalize }}|{{ u | length }}",
  "{{ w.split() }}|{{ w.split(' ') }}|{{ w.split(none, 2) }}|{{ 'a,b,,c'.split(',', 1) }}|{{ ''.split() }}|{{ ''.split(',') }}",
  "{{ s.startswith('  He') }}|{{ s.endswith(('x', '!  ')) }}|{{ 'aaa'.replace('a', 'b', 2) }}|{{ 'abc'.replace('', '-') }}|{{ 'x' | replace('x', 'y') }}",
  "{{ u[0] }}|{{ u[-1] }}|{{ u[1:4] }}|{{ u[::-1] }}|{{ 'abcdef'[::2] }}|{{ 'abc'[5] }}|x",
  "{{ 'a\\nb\\n\\nc' | indent }}|{{ 'a\\nb\\n\\nc' | indent(2, true, true) }}|{{ 'a\\nb' | indent(first=true) }}",
  "{{ '42abc' | int }}|{{ 'x' | int }}|{{ 'x' | int(5) }}|{{ ' 3.5e2x' | float }}|{{ 3.9 | int }}|{{ -3 | abs }}|{{ 7 | string }}|{{ 2.0 | string }}",
  "{{ 'ab' in 'cabd' }}|{{ 'z' not in 'abc' }}|{{ 'a' in d }}|{{ 'k' in d }}|{{ 3 in xs }}|{{ '3' in xs }}|{{ 'x' in undefined_name }}",
  "{{ undefined_name in xs }}",
  // Lists.
  "{{ xs | length }}|{{ xs | first }}|{{ xs | last }}|{{ xs | reverse }}|{{ xs | sort }}|{{ xs | unique }}|{{ ws | sort }}|{{ ws | sort(true, true) }}",
  "{{ xs | join }}|{{ xs | join(', ') }}|{{ ws | join('-') }}|{{ 'abc' | join('.') }}|{{ xs | string }}|{{ xs | list }}",
  "{{ xs[1:] }}|{{ xs[:-1] }}|{{ xs[-2:] }}|{{ xs[::-1] }}|{{ xs[1:3:1] }}|{{ xs[-1] }}|{{ xs[10] }}|{{ xs.length }}|{{ xs + [9] }}",
  "{{ people | map(attribute='name') | join(',') }}|{{ people | selectattr('tags') | map(attribute='name') | list }}|{{ people | rejectattr('tags') | map(attribute='age') | list }}",
  "{{ people | selectattr('name', 'equalto', 'bob') | map(attribute='age') | first }}|{{ people | sort(attribute='age') | map(attribute='name') | join }}|{{ people | sort(attribute='name') | map(attribute='name') | join }}",
  "{{ people | map(attribute='tags.0', default='-') | list }}",
  // Dicts.
  "{{ d.a }}|{{ d['b'] }}|{{ d.get('a') }}|{{ d.get('zz') }}|{{ d.get('zz', 5) }}|{{ d.c[1].k }}|{{ d.zz }}|{{ d | length }}",
  "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}|{% for k in d %}{{ k }}{% endfor %}|{{ d.keys() }}|{{ d.values() | length }}|{{ d | items | first }}",
  "{% for k, v in d | dictsort %}{{ k }};{% endfor %}|{{ {'b': 1, 'a': 2} | dictsort(by='value', reverse=true) }}",
  // tojson.
  "{{ d | tojson }}|{{ msgs | tojson }}|{{ 'é\"\\n' | tojson }}|{{ undefined_name | tojson }}|{{ none | tojson }}|{{ 2.0 | tojson }}",
  "{{ d | tojson(indent=2) }}|{{ empty | tojson(indent=2) }}|{{ u | tojson(ensure_ascii=true) }}|{{ d | tojson(separators=(',', ':')) }}|{{ d | tojson(sort_keys=true) }}",
  // Tests.
  "{{ n is odd }}|{{ n is even }}|{{ n is number }}|{{ f is integer }}|{{ s is string }}|{{ xs is iterable }}|{{ (1,2) is iterable }}|{{ d is mapping }}|{{ xs is sequence }}",
  "{{ x is defined }}|{{ n is defined }}|{{ no is none }}|{{ no is defined }}|{{ t is true }}|{{ 1 is true }}|{{ t is boolean }}|{{ range is callable }}|{{ 'abc' is lower }}|{{ 'aBc' is upper }}|{{ n is not none }}",
  // Logic.
  "{{ 0 or 'x' }}|{{ '' and 'x' }}|{{ [] or 'empty' }}|{{ d and 'full' }}|{{ not empty }}|{{ not not n }}|{{ 'a' if n > 5 else 'b' }}|{{ 'shown' if false }}|x",
  "{{ e or 'default' }}|{{ undefined_name | default('dflt') }}|{{ e | default('dflt') }}|{{ e | default('dflt', true) }}|{{ no | default('d') }}",
  // Loops.
  "{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}{{ loop.last }}{{ loop.length }} {% endfor %}",
  "{% for x in xs %}[{{ loop.previtem }},{{ loop.nextitem }}]{% endfor %}",
  "{% for x in empty %}no{% else %}empty{% endfor %}|{% for x in xs if x > 1 %}{{ x }}{% endfor %}|{% for x in xs %}{% if x == 1 %}{% continue %}{% endif %}{% if loop.index > 3 %}{% break %}{% endif %}{{ x }}{% endfor %}",
  "{% for m in msgs %}{{ m.role }}:{{ m['content'] }};{% endfor %}{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }}{% endfor %}",
  "{% for i in range(3) %}{{ i }}{% endfor %}|{% for i in range(1, 10, 3) %}{{ i }}{% endfor %}|{% for i in range(5, 0, -2) %}{{ i }}{% endfor %}",
  // Scoping and namespaces.
  "{% set a = 1 %}{% for x in xs %}{% set a = x %}{% endfor %}{{ a }}|{% set ns = namespace(total=0, found=false) %}{% for x in xs %}{% set ns.total = ns.total + x %}{% endfor %}{{ ns.total }}{{ ns.found }}",
  "{% if true %}{% set inner = 'set in if' %}{% endif %}{{ inner }}|{% set a, b = [1, 2] %}{{ b }}{{ a }}|{% set blk %}block {{ n }}{% endset %}{{ blk }}",
  "{% for x in xs %}{% if loop.first %}{% set seen = 'y' %}{% endif %}{{ seen }}{% endfor %}|{{ seen }}",
  "{% set ns = namespace(d) %}{{ ns.a }}{{ ns.b }}|{{ ns }}",
  // Macros, call and filter blocks.
  "{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Ann') }}|{{ greet('Bob', 'Hi') }}|{{ greet(greeting='Yo', name='Cy') }}",
  "{% macro m(a) %}{{ a }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, k=4) }}",
  "{% macro wrap(tag) %}<{{ tag }}>{{ caller() }}</{{ tag }}>{% endmacro %}{% call wrap('b') %}bold {{ n }}{% endcall %}",
  "{% filter upper %}shout {{ s | trim }}{% endfilter %}",
  // Functions and errors.
  "{{ strftime_now('%Y') | length }}|{{ range(3) }}",
  "{{ raise_exception('stop here') }}",
  "{{ undefined_name + 1 }}",
  "{{ no + 1 }}",
  "{{ 'a' < 'b' }}",
  "{{ xs | frobnicate }}",
  "{% for c in 'abc' %}{{ c }}{% endfor %}",
  "{% if x %}unclosed",
  "{{ 1 + }}",
  "{{ 1e3 }}",
  "{% set t = (1, 2) %}{{ t | length }}|{{ t is iterable }}|{% for x in t %}{{ x }}{% endfor %}",
  "{{ (1, 2) | tojson }}",
  "{% break %}",
  "{{ 'unterminated }}",
  "{% generation %}gen{% endgeneration %}|{%- generation -%} x {%- endgeneration -%}|",
  "{{ msgs[0]['role'] }}|{{ msgs[5]['role'] }}|{{ msgs[5].role is defined }}|{{ msgs | length }}",
];

const cases = snippets.map((template) => {
  const c = { template };
  try {
    c.text = new Template(template).render(context);
  } catch (e) {
    c.error = String(e.message);
  }
  return c;
});
const out = { generator: "@huggingface/jinja@0.5.11", context, cases };
fs.writeFileSync(path.join(__dirname, "..", "testdata", "snippets.json"), JSON.stringify(out, null, 1) + "\n");
console.log(`wrote ${cases.length} snippets (${cases.filter((c) => c.error).length} errors)`);
