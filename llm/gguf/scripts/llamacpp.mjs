// llamacpp.mjs runs llama.cpp (through node-llama-cpp 3.21.1, CPU build,
// offline) on GGUF files that refeval exported and writes what it computed
// as golden JSON for llamacpp_test.go.
//
//	node llamacpp.mjs SPECDIR OUTDIR
//
// SPECDIR holds NAME.gguf and NAME.spec.json pairs (written by
// make_goldens.sh through `go test -run TestWriteLlamaCppModels`). For each
// prompt of a spec it evaluates the prompt ids (no BOS is added), then
// generates spec.steps tokens greedily one at a time through
// sequence.controlledEvaluate with probabilities over the full vocabulary,
// renormalised in double (node-llama-cpp sums them in float32), and writes
// OUTDIR/llamacpp_NAME.json: the spec, the greedy tokens, the top-k
// log-probabilities at every step and the smallest top-1/top-2 margin.
//
// Numerics settings (see /work/shared/ORACLES.md): F32 weights (F16 for the
// _f16 files), F32 KV cache, flash attention off, one sequence per context.
import fs from "node:fs";
import path from "node:path";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const [specDir, outDir] = process.argv.slice(2);
if (!specDir || !outDir) {
    console.error("usage: node llamacpp.mjs SPECDIR OUTDIR");
    process.exit(2);
}
const topK = 5;
const llama = await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.warn});

for (const file of fs.readdirSync(specDir).filter((f) => f.endsWith(".spec.json")).sort()) {
    const name = file.slice(0, -".spec.json".length);
    const spec = JSON.parse(fs.readFileSync(path.join(specDir, file), "utf8"));
    const model = await llama.loadModel({modelPath: path.join(specDir, name + ".gguf")});
    const runs = [];
    let minMargin = Infinity;
    for (const prompt of spec.prompts) {
        const context = await model.createContext({
            contextSize: 256, batchSize: 256, sequences: 1, flashAttention: false,
            experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32", threads: 2,
        });
        const seq = context.getSequence();
        const gen = {probabilities: true, token: true, options: {temperature: 0}};
        const input = prompt.map((t, i) => (i === prompt.length - 1 ? [t, {generateNext: gen}] : t));
        let out = await seq.controlledEvaluate(input);
        let next = out[prompt.length - 1].next;
        const tokens = [];
        const steps = [];
        for (let s = 0; s < spec.steps; s++) {
            const probs = [...next.probabilities.entries()];
            let sum = 0;
            for (const [, p] of probs) sum += p;
            probs.sort((a, b) => b[1] - a[1]);
            const top = probs.slice(0, topK).map(([id, p]) => ({id, logprob: Math.log(p / sum)}));
            const margin = top[0].logprob - top[1].logprob;
            minMargin = Math.min(minMargin, margin);
            if (top[0].id !== next.token) throw new Error(`${name}: sampled token ${next.token} is not the argmax ${top[0].id}`);
            tokens.push(next.token);
            steps.push({top, margin});
            if (s + 1 < spec.steps) {
                out = await seq.controlledEvaluate([[next.token, {generateNext: gen}]]);
                next = out[0].next;
            }
        }
        runs.push({prompt, greedy: tokens, steps});
        await context.dispose();
    }
    await model.dispose();
    const golden = {
        spec,
        oracle: `llama.cpp via node-llama-cpp 3.21.1, CPU, ${(spec.model.type || "f32").toUpperCase()} weights, F32 KV cache, flash attention off; probabilities renormalised in double`,
        min_margin: minMargin,
        runs,
    };
    fs.writeFileSync(path.join(outDir, `llamacpp_${name}.json`), JSON.stringify(golden, null, 1) + "\n");
    console.log(`${name}: ${runs.length} prompts, min top-1 margin ${minMargin.toFixed(4)}`);
}
