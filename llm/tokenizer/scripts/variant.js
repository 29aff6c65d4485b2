// variant.js writes a variant of a tokenizer.json: the top-level keys of
// EDIT.json (normalizer, pre_tokenizer, decoder…) replace the file's. The
// conformance test builds the same variant in Go from the committed edit, so
// Metaspace pre-tokenizers and decoders are checked against the Rust library
// on a real vocabulary without committing another copy of it.
//
//	node variant.js BASE.json EDIT.json OUT.json
const fs = require('fs');
const zlib = require('zlib');
const [base, edit, out] = process.argv.slice(2);
let data = fs.readFileSync(base);
if (base.endsWith('.gz')) data = zlib.gunzipSync(data);
const t = JSON.parse(data.toString('utf8'));
Object.assign(t, JSON.parse(fs.readFileSync(edit, 'utf8')));
fs.writeFileSync(out, JSON.stringify(t));
