// randconv.cjs writes random conversations (random roles, including system and tool, and
// contents made of fragments that trip templates: JS and non-JS whitespace, <think>,
// tool-response tags, special tokens, Jinja syntax, quotes) for a one-off check, not for CI:
//
//	node llm/chat/scripts/randconv.cjs SEED llm/chat/testdata/conversations.json
//	NODE_PATH=/tmp/jinja/node_modules node llm/chat/scripts/goldens.cjs
//	go test -run TestGoldens ./llm/chat/ && git checkout llm/chat/testdata
"use strict";
const fs = require("fs");
let seed = Number(process.argv[2] || 1);
function rand() { seed |= 0; seed = (seed + 0x6d2b79f5) | 0; let t = Math.imul(seed ^ (seed >>> 15), 1 | seed); t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; }
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const bits = ["", " ", "\n", "\n\n", "\t", "\u00a0", "\u3000", "\ufeff", "\u0085", "\u001f", "hello", "Wörld", "日本", "🙂", "<think>", "</think>", "<tool_response>", "</tool_response>", "{{ x }}", "{% if %}", "'", '"', "\\", "<|im_end|>", "<|eot_id|>", "a b", "\r\n"];
const content = () => { let s = ""; const n = Math.floor(rand() * 6); for (let i = 0; i < n; i++) s += pick(bits); return s; };
const roles = ["user", "assistant", "user", "assistant", "system", "tool"];
const convs = [];
for (let i = 0; i < 400; i++) {
  const n = Math.floor(rand() * 6);
  const messages = [];
  for (let j = 0; j < n; j++) messages.push({ role: pick(roles), content: content() });
  convs.push({ name: "r" + i, messages });
}
fs.writeFileSync(process.argv[3], JSON.stringify(convs, null, 1) + "\n");
