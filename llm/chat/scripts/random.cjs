// random.cjs writes ../testdata/random.json: random expressions over the context of
// ../testdata/snippets.json (run snippets.cjs first), each rendered as {{ expr }}, then
// random templates (whitespace control, if, for, set, comments), rendered with
// @huggingface/jinja@0.5.11, with their text or error. The Go test checks that it renders
// the same text, and fails where the JavaScript fails. The generator is seeded: the
// same file comes out each run.
//
//	NODE_PATH=/tmp/jinja/node_modules node llm/chat/scripts/random.cjs
"use strict";
const fs = require("fs");
const path = require("path");
const { Template } = require("@huggingface/jinja");

const testdata = path.join(__dirname, "..", "testdata");
const { context } = JSON.parse(fs.readFileSync(path.join(testdata, "snippets.json"), "utf8"));

// mulberry32, a small seeded generator.
// Arguments (optional, for a one-off larger run): seed, number of expressions, number of
// templates, output file.
const [argSeed, argExprs, argTemplates, argOut] = process.argv.slice(2);
let seed = Number(argSeed ?? 20261127);
function rand() {
  seed |= 0;
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (xs) => xs[Math.floor(rand() * xs.length)];

const vars = ["s", "w", "e", "u", "n", "z", "f", "t", "no", "xs", "ws", "empty", "d", "people", "msgs", "missing"];
const literals = ["'a'", '"B c"', "''", "' x '", "0", "1", "-2", "2.5", "0.0", "true", "false", "none", "[1, 'a']", "[]", "{'k': 1}", "'<think>'", "'\\n'"];
const members = [".role", ".content", ".name", ".a", ".b", ".c", "[0]", "[-1]", "[1:]", "[::-1]", "[:2]", ".length", "['a']", ".tags"];
const binops = ["+", "-", "*", "/", "//", "%", "~", "==", "!=", "<", ">", "<=", "in", "not in", "and", "or"];
const filters = ["length", "upper", "lower", "trim", "title", "capitalize", "first", "last", "reverse", "sort", "join", "tojson", "string", "int", "float", "abs", "list", "unique", "items", "length",
  "default('D')", "default('D', true)", "join(', ')", "tojson(indent=1)", "tojson(ensure_ascii=true)", "indent(2)", "replace('a', 'o')", "map(attribute='name')", "selectattr('tags')", "safe"];
const tests = ["defined", "undefined", "none", "string", "number", "integer", "mapping", "iterable", "sequence", "true", "false", "boolean", "odd", "even", "lower", "upper", "callable"];
const methods = ["strip()", "lstrip()", "rstrip('\\n')", "upper()", "lower()", "title()", "split()", "split('o')", "split(' ', 1)", "startswith('H')", "endswith(('!', 'x'))", "replace('l', 'L')", "replace('', '.')", "get('a')", "get('zz', 3)", "items()", "keys()", "values()"];

function atom() {
  const r = rand();
  if (r < 0.45) return pick(vars);
  if (r < 0.75) return pick(literals);
  if (r < 0.9) return pick(vars) + pick(members);
  return pick(vars) + "." + pick(methods);
}

function expr(depth) {
  if (depth <= 0) return atom();
  const r = rand();
  if (r < 0.25) return atom();
  if (r < 0.5) return `${expr(depth - 1)} ${pick(binops)} ${expr(depth - 1)}`;
  if (r < 0.65) return `${expr(depth - 1)} | ${pick(filters)}`;
  if (r < 0.75) return `${expr(depth - 1)} is ${rand() < 0.3 ? "not " : ""}${pick(tests)}`;
  if (r < 0.82) return `not ${expr(depth - 1)}`;
  if (r < 0.9) return `(${expr(depth - 1)})`;
  return `${expr(depth - 1)} if ${expr(depth - 1)} else ${expr(depth - 1)}`;
}

const cases = [];
const seen = new Set();
while (cases.length < Number(argExprs ?? 700)) {
  const template = `{{ ${expr(3)} }}`;
  if (seen.has(template)) continue;
  seen.add(template);
  const c = { template };
  try {
    c.text = new Template(template).render(context);
  } catch (e) {
    c.error = String(e.message);
  }
  cases.push(c);
}
// Random templates: text with whitespace and newlines around tags with random
// whitespace control, if/elif/else, for loops (loop variables, else, inline if), set
// (plain and on a namespace) and comments.
const texts = ["", " ", "\n", "  \n", "x", " y \n  ", "\t", "\n\n", "  "];
const ws = () => pick(["", " ", "  ", "\n", " \n  "]);
const safe = ["n", "s", "e", "xs | length", "d.a", "t", "no", "missing", "'lit'", "n > 3", "e or 'empty'", "s | trim", "xs[0]", "u[1:3]", "msgs[0].content", "w.split()[1]", "f * 2", "not t", "ns.v"];
const sexpr = () => (rand() < 0.7 ? pick(safe) : expr(1));
const open = (k) => "{" + k + (rand() < 0.4 ? "-" : "") + " ";
const close = (k) => " " + (rand() < 0.4 ? "-" : "") + k + "}";
function block(depth) {
  const parts = [];
  const n = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) {
    parts.push(pick(texts));
    const r = rand();
    if (r < 0.3 || depth <= 0) {
      parts.push(open("{") + sexpr() + close("}"));
    } else if (r < 0.45) {
      parts.push(open("%") + "if " + sexpr() + close("%") + block(depth - 1));
      if (rand() < 0.3) parts.push(ws() + open("%") + "elif " + sexpr() + close("%") + block(depth - 1));
      if (rand() < 0.5) parts.push(ws() + open("%") + "else" + close("%") + block(depth - 1));
      parts.push(ws() + open("%") + "endif" + close("%"));
    } else if (r < 0.65) {
      const it = pick(["xs", "ws", "empty", "msgs", "people", "d", "range(3)", "w.split()", "xs if n > 3"]);
      parts.push(open("%") + `for v in ${it}` + close("%") + ws() + open("{") + pick(["v", "loop.index", "loop.first", "loop.last", "v.role", "v.name", "v ~ '|'", "loop.index0 ~ v"]) + close("}") + block(depth - 1));
      if (rand() < 0.2) parts.push(open("%") + "else" + close("%") + pick(texts));
      parts.push(ws() + open("%") + "endfor" + close("%"));
    } else if (r < 0.75) {
      parts.push(open("%") + "set v = " + sexpr() + close("%"));
    } else if (r < 0.85) {
      parts.push(open("%") + "set ns.v = " + sexpr() + close("%") + open("{") + "ns.v" + close("}"));
    } else {
      parts.push("{#" + (rand() < 0.4 ? "-" : "") + " c " + (rand() < 0.4 ? "-" : "") + "#}");
    }
    parts.push(pick(texts));
  }
  return parts.join("");
}
let made = 0;
while (made < Number(argTemplates ?? 400)) {
  const template = "{%- set ns = namespace(v=0) -%}" + pick(texts) + block(2) + pick(texts);
  if (seen.has(template)) continue;
  seen.add(template);
  made++;
  const c = { template };
  try {
    c.text = new Template(template).render(context);
  } catch (e) {
    c.error = String(e.message);
  }
  cases.push(c);
}

const out = { generator: "@huggingface/jinja@0.5.11", cases };
fs.writeFileSync(argOut ?? path.join(testdata, "random.json"), JSON.stringify(out, null, 1) + "\n");
console.log(`wrote ${cases.length} random expressions and templates (${cases.filter((c) => c.error).length} errors)`);
