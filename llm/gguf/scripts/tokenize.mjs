// tokenize.mjs tokenizes a few hard strings with llama.cpp's tokenizer as
// it loads from GGUF files refeval exported (tokens, merges, token types and
// pre-tokenizer name embedded by package gguf), and writes
// OUTDIR/tokenize_llamacpp.json for TestLlamaCppTokenize.
//
//	node tokenize.mjs OUTDIR TOKENIZER=FILE.gguf …
//
// Special tokens in the text are parsed (model.tokenize(text, true)); no
// BOS is added.
import fs from "node:fs";
import path from "node:path";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [outDir, ...specs] = process.argv.slice(2);
const texts = [
    "The quick brown fox",
    "def fib(n):\n    return",
    "Héllo wörld 12345 — ünïcode 日本語!!",
    "  leading spaces\n\n\ttabs   and trailing  ",
    "<|im_start|>user\nhi<|im_end|>\n<|start_header_id|>x<|end_header_id|>",
    "I'm sure they'll've DONE it... 3.14159 1,000,000",
    "emoji 🤖🎉 and CJK 你好，世界",
    "[INST] Hi [/INST]<s>x <start_of_turn>user\nok<end_of_turn>\n",
    "rare 𝔘𝔫𝔦 ₹ ǅ bytes",
];
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error});
const ids = {};
for (const spec of specs) {
    const [name, file] = spec.split("=");
    const model = await llama.loadModel({modelPath: file});
    ids[name] = texts.map((t) => Array.from(model.tokenize(t, true)));
    await model.dispose();
}
const out = {oracle: "llama.cpp via node-llama-cpp 3.21.1: model.tokenize(text, true) on refeval-exported GGUF files", texts, ids};
fs.writeFileSync(path.join(outDir, "tokenize_llamacpp.json"), JSON.stringify(out, null, 1) + "\n");
console.log(`tokenized ${texts.length} texts with ${specs.length} tokenizers`);
