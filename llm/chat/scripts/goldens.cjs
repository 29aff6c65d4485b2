// goldens.cjs renders every conversation in ../testdata/conversations.json with each
// template (the three tokenizer_config.json files and ../chatml.jinja), both values of
// add_generation_prompt, using @huggingface/jinja@0.5.11 (the renderer transformers.js
// uses), and writes ../testdata/goldens.json. The Go tests compare against it byte for byte.
//
//	mkdir -p /tmp/jinja && (cd /tmp/jinja && npm install -E @huggingface/jinja@0.5.11)
//	NODE_PATH=/tmp/jinja/node_modules node llm/chat/scripts/goldens.cjs
"use strict";
const fs = require("fs");
const path = require("path");
const { Template } = require("@huggingface/jinja");

const pkg = path.join(path.dirname(require.resolve("@huggingface/jinja")), "..", "package.json");
const version = JSON.parse(fs.readFileSync(pkg, "utf8")).version;
if (version !== "0.5.11") {
  throw new Error(`want @huggingface/jinja 0.5.11, found ${version}`);
}

// dateString is passed as date_string, as the Go side does, so Llama-3.2's
// "Today Date:" line does not depend on the day the goldens were made.
const dateString = "26 Jul 2024";

const testdata = path.join(__dirname, "..", "testdata");
const special = (tok) => (tok && typeof tok === "object" ? tok.content : tok);

function fromConfig(name) {
  const cfg = JSON.parse(fs.readFileSync(path.join(testdata, `${name}.tokenizer_config.json`), "utf8"));
  let src = cfg.chat_template;
  if (Array.isArray(src)) {
    src = src.find((t) => t.name === "default").template;
  }
  return { name, src, bos: special(cfg.bos_token), eos: special(cfg.eos_token) };
}

// The three templates the goldens must cover, then others whose features differ
// (deepseek_v3, gemma3 and llama3_1 files keep only the fields rendering needs).
const templates = [
  fromConfig("qwen2_5"),
  fromConfig("llama3_2"),
  fromConfig("qwen3"),
  fromConfig("llama3_1"),
  fromConfig("gemma3"),
  fromConfig("deepseek_v3"),
  { name: "chatml", src: fs.readFileSync(path.join(__dirname, "..", "chatml.jinja"), "utf8"), bos: undefined, eos: undefined },
];

const conversations = JSON.parse(fs.readFileSync(path.join(testdata, "conversations.json"), "utf8"));
const cases = [];
for (const t of templates) {
  const tmpl = new Template(t.src);
  for (const conv of conversations) {
    for (const addGen of [false, true]) {
      const c = { template: t.name, conversation: conv.name, add_generation_prompt: addGen };
      try {
        c.text = tmpl.render({
          messages: conv.messages,
          add_generation_prompt: addGen,
          bos_token: t.bos,
          eos_token: t.eos,
          date_string: dateString,
        });
      } catch (e) {
        c.error = String(e.message);
      }
      cases.push(c);
    }
  }
}
// Extra variables a caller may pass (Template.RenderVars): Qwen3 without thinking.
const qwen3 = templates.find((t) => t.name === "qwen3");
const qwen3Tmpl = new Template(qwen3.src);
for (const conv of conversations) {
  const vars = { enable_thinking: false };
  const c = { template: "qwen3", conversation: conv.name, add_generation_prompt: true, vars };
  try {
    c.text = qwen3Tmpl.render({
      messages: conv.messages,
      add_generation_prompt: true,
      bos_token: qwen3.bos,
      eos_token: qwen3.eos,
      date_string: dateString,
      ...vars,
    });
  } catch (e) {
    c.error = String(e.message);
  }
  cases.push(c);
}

const out = { generator: `@huggingface/jinja@${version}`, date_string: dateString, cases };
fs.writeFileSync(path.join(testdata, "goldens.json"), JSON.stringify(out, null, 1) + "\n");
console.log(`wrote ${cases.length} cases (${cases.filter((c) => c.error).length} errors)`);
