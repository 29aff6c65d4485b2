// random.cjs writes ../testdata/random.json: random expressions over the context of
// ../testdata/snippets.json (run snippets.cjs first), each rendered as {{ expr }} with
// @huggingface/jinja@0.5.11, with its text or error. The Go test checks that it renders
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
let seed = 20261127;
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
while (cases.length < 900) {
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
const out = { generator: "@huggingface/jinja@0.5.11", cases };
fs.writeFileSync(path.join(testdata, "random.json"), JSON.stringify(out, null, 1) + "\n");
console.log(`wrote ${cases.length} random expressions (${cases.filter((c) => c.error).length} errors)`);
