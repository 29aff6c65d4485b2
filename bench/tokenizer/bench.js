// bench.js is the Rust side of bench/tokenizer/run.sh.
//
//	node bench.js prepare OUT.jsonl FILES...   cut FILES into documents of at most
//	                                           4 KiB at line ends, one JSON string a line
//	node bench.js rust TOKENIZER.json DOCS.jsonl
//	                                           encode every document with the Rust
//	                                           Hugging Face tokenizers, one at a time,
//	                                           after a warm-up pass; print MB/s (wall),
//	                                           tokens and cpu-MB/s (process CPU time)
const fs = require('fs');

function prepare(out, files) {
  const docs = [];
  for (const f of files) {
    let cur = '';
    for (const line of fs.readFileSync(f, 'utf8').split(/(?<=\n)/)) {
      if (cur.length > 0 && Buffer.byteLength(cur + line) > 4096) {
        docs.push(cur);
        cur = '';
      }
      cur += line;
    }
    if (cur) docs.push(cur);
  }
  fs.writeFileSync(out, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  const bytes = docs.reduce((n, d) => n + Buffer.byteLength(d), 0);
  console.error(`${docs.length} documents, ${bytes} bytes -> ${out}`);
}

async function rust(tokPath, docsPath) {
  const { Tokenizer } = require('@anush008/tokenizers');
  const tok = Tokenizer.fromFile(tokPath);
  const docs = fs.readFileSync(docsPath, 'utf8').split('\n').filter((l) => l).map((l) => JSON.parse(l));
  const bytes = docs.reduce((n, d) => n + Buffer.byteLength(d), 0);
  let tokens = 0;
  for (const d of docs) tokens += (await tok.encode(d, null, { addSpecialTokens: false })).getIds().length;
  let best = Infinity, bestCPU = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (const d of docs) await tok.encode(d, null, { addSpecialTokens: false });
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
    const c = process.cpuUsage(c0); // all threads of the process, in microseconds
    bestCPU = Math.min(bestCPU, (c.user + c.system) / 1e6);
  }
  console.log(`rust ${(bytes / 1e6 / best).toFixed(2)} MB/s ${tokens} tokens ${(bytes / 1e6 / bestCPU).toFixed(2)} cpu-MB/s`);
}

const [cmd, ...args] = process.argv.slice(2);
if (cmd === 'prepare') prepare(args[0], args.slice(1));
else if (cmd === 'rust') rust(args[0], args[1]).catch((e) => { console.error(e); process.exit(1); });
else { console.error('usage: node bench.js prepare OUT FILES... | rust TOKENIZER DOCS'); process.exit(2); }
