// llamacpp.mjs measures llama.cpp (node-llama-cpp 3.21.1, prebuilt CPU
// binary, offline) on GGUF files with the shapes of model_test.go, and
// prints llama.cpp's numbers next to refeval's with ratios.
//
//	node llamacpp.mjs measure OUT.json NAME=DIR …
//	node llamacpp.mjs report WORK NAME=DIR …
//
// DIR is a refeval model folder holding config.json and model.gguf.
// measure writes one round of llama.cpp's tokens/s to OUT.json. report
// reads every round in WORK: go_R.txt (what `go test -bench` printed for
// the same folders) and llama_R.json, for R = 1, 2, …; run.sh alternates
// the two sides round by round, because this shared machine's load moves
// both by 2× within minutes. The table gives each side's median tokens/s
// and the median (and range) of the per-round ratios. Settings: F32
// weights, F32 KV cache, flash attention off (the numerics check's
// settings); llama.cpp runs with 1 and with 2 threads (this machine has 2
// vCPUs, and its busy-waiting threads collapse when other processes share
// them) and the faster of the two is kept.
import fs from "node:fs";
import path from "node:path";
import {getLlama, LlamaLogLevel} from "node-llama-cpp";

const prefillLen = 128, decodeLen = 32, promptLen = 16, reps = 5;
const [mode, target, ...specs] = process.argv.slice(2);
const llama = mode === "measure" ? await getLlama({gpu: false, build: "never", logLevel: LlamaLogLevel.error}) : null;

function tokens(n, vocab) {
    return Array.from({length: n}, (_, i) => (i * 7919 + 13) % Math.min(vocab, 1000));
}

// goResults reads "BenchmarkPrefill/25M-2  3  123 ns/op  456.7 tokens/s" lines.
function goResults(text) {
    const out = {};
    for (const line of text.split("\n")) {
        const m = line.match(/^Benchmark(Prefill|Decode)\/(\S+?)(-\d+)?\s+\d+\s+.*?([\d.]+) tokens\/s/);
        if (m) out[`${m[1].toLowerCase()}/${m[2]}`] = Number(m[4]);
    }
    return out;
}

// flops returns the multiply-adds ×2 of one token at context position pos:
// every linear layer, attention scores and values over pos+1 keys, and
// (when withHead) the lm_head.
function layerWeights(cfg) {
    const h = cfg.hidden_size, inter = cfg.intermediate_size;
    const hd = cfg.head_dim || h / cfg.num_attention_heads;
    const q = cfg.num_attention_heads * hd, kv = cfg.num_key_value_heads * hd;
    return h * q + 2 * h * kv + q * h + 3 * h * inter;
}

function flops(cfg, pos, withHead) {
    const hd = cfg.head_dim || cfg.hidden_size / cfg.num_attention_heads;
    const attn = 2 * cfg.num_attention_heads * hd * (pos + 1);
    return 2 * (cfg.num_hidden_layers * (layerWeights(cfg) + attn) + (withHead ? cfg.hidden_size * cfg.vocab_size : 0));
}

async function bench(dir, threads) {
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
    const model = await llama.loadModel({modelPath: path.join(dir, "model.gguf")});
    const context = await model.createContext({
        contextSize: 512, batchSize: 512, sequences: 1, flashAttention: false, threads,
        experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
    });
    const seq = context.getSequence();
    const next = {generateNext: {token: true, options: {temperature: 0}}};
    const prefill = async (toks) => {
        await seq.clearHistory();
        const input = toks.map((t, i) => (i === toks.length - 1 ? [t, next] : t));
        const out = await seq.controlledEvaluate(input);
        return out[toks.length - 1].next.token;
    };
    const p = tokens(prefillLen, cfg.vocab_size);
    await prefill(p); // warm up
    let t0 = performance.now();
    for (let i = 0; i < reps; i++) await prefill(p);
    const prefillTps = (prefillLen * reps) / ((performance.now() - t0) / 1000);

    let decodeMs = 0;
    for (let r = 0; r < reps + 1; r++) {
        let tok = await prefill(tokens(promptLen, cfg.vocab_size));
        t0 = performance.now();
        for (let i = 0; i < decodeLen; i++) {
            const out = await seq.controlledEvaluate([[tok, next]]);
            tok = out[0].next.token;
        }
        if (r > 0) decodeMs += performance.now() - t0; // r = 0 warms up
    }
    const decodeTps = (decodeLen * reps) / (decodeMs / 1000);
    await context.dispose();
    await model.dispose();
    return {cfg, prefillTps, decodeTps};
}

// best runs bench with 1 and 2 threads and keeps the faster of each phase.
async function best(dir) {
    const one = await bench(dir, 1), two = await bench(dir, 2);
    return {
        cfg: one.cfg,
        prefillTps: Math.max(one.prefillTps, two.prefillTps), prefillThreads: one.prefillTps > two.prefillTps ? 1 : 2,
        decodeTps: Math.max(one.decodeTps, two.decodeTps), decodeThreads: one.decodeTps > two.decodeTps ? 1 : 2,
    };
}

function median(xs) {
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

if (mode === "measure") {
    const out = {};
    for (const spec of specs) {
        const [name, dir] = spec.split("=");
        const r = await best(dir);
        out[name] = {prefillTps: r.prefillTps, prefillThreads: r.prefillThreads, decodeTps: r.decodeTps, decodeThreads: r.decodeThreads};
    }
    fs.writeFileSync(target, JSON.stringify(out));
} else if (mode === "report") {
    const rounds = [];
    for (let i = 1; fs.existsSync(path.join(target, `go_${i}.txt`)) && fs.existsSync(path.join(target, `llama_${i}.json`)); i++) {
        rounds.push({
            go: goResults(fs.readFileSync(path.join(target, `go_${i}.txt`), "utf8")),
            llama: JSON.parse(fs.readFileSync(path.join(target, `llama_${i}.json`), "utf8")),
        });
    }
    console.log(`${rounds.length} rounds; medians over rounds, ratio = median of the per-round ratios (range in brackets)`);
    console.log(`| model | phase | refeval tokens/s | llama.cpp tokens/s | llama.cpp threads | refeval / llama.cpp | refeval GFLOP/s | llama.cpp GFLOP/s |`);
    console.log(`|---|---|---|---|---|---|---|---|`);
    for (const spec of specs) {
        const [name, dir] = spec.split("=");
        const cfg = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
        const params = cfg.vocab_size * cfg.hidden_size + cfg.num_hidden_layers * layerWeights(cfg);
        let prefillFlops = 0;
        for (let pos = 0; pos < prefillLen; pos++) prefillFlops += flops(cfg, pos, pos === prefillLen - 1);
        let decodeFlops = 0;
        for (let pos = promptLen; pos < promptLen + decodeLen; pos++) decodeFlops += flops(cfg, pos, true);
        for (const [what, f, n] of [["prefill", prefillFlops, prefillLen], ["decode", decodeFlops, decodeLen]]) {
            const g = rounds.map((r) => r.go[`${what}/${name}`]).filter((v) => v !== undefined);
            const l = rounds.map((r) => r.llama[name][`${what}Tps`]);
            const threads = rounds.map((r) => r.llama[name][`${what}Threads`]).join("/");
            const ratios = rounds.filter((r) => r.go[`${what}/${name}`] !== undefined).map((r) => r.go[`${what}/${name}`] / r.llama[name][`${what}Tps`]);
            const gm = median(g), lm = median(l);
            console.log(`| ${name} (hidden ${cfg.hidden_size}, ${cfg.num_hidden_layers} layers, ~${(params / 1e6).toFixed(0)}M params) | ${what} | ${gm.toFixed(1)} | ${lm.toFixed(1)} | ${threads} | ${median(ratios).toFixed(2)}× [${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}] | ${(gm * f / n / 1e9).toFixed(1)} | ${(lm * f / n / 1e9).toFixed(1)} |`);
        }
    }
} else {
    console.error("usage: node llamacpp.mjs measure OUT.json NAME=DIR … | report WORK NAME=DIR …");
    process.exit(2);
}
