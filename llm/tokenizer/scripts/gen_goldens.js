// gen_goldens.js writes a golden file for llm/tokenizer's conformance test: a set of
// hard strings, the ids the Rust Hugging Face tokenizers give for each (no special
// tokens added), and decodings of id sequences (the strings' ids and random ids).
//
// Usage (npm work happens outside the repository, see README in this folder):
//
//	cd /tmp/tok && npm install @anush008/tokenizers@0.6.0
//	NODE_PATH=/tmp/tok/node_modules node gen_goldens.js NAME TOKENIZER.json OUT.json [STRINGS.json]
//
// With STRINGS.json (a JSON array of strings) those strings are used instead of the
// built-in hard set.
const fs = require('fs');
const { Tokenizer } = require('@anush008/tokenizers');

// Deterministic PRNG (mulberry32) so the golden set regenerates byte for byte.
function rng(seed) {
  return function () {
    seed |= 0; seed = (seed + 0x6D2B79F5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hardStrings() {
  const s = [
    '', ' ', '  ', '   ', '\t', '\n', '\r\n', '\n\n', '\r\n\r\n', ' \n', '\n ', ' \n ', '  \n  x', '\t\tx',
    'Hello world', 'Hello  world', 'Hello   world', ' Hello', '  Hello', 'Hello ', 'Hello  ', 'hello\nworld',
    'hello\r\nworld', 'hello \r\n world', 'a\r\rb', 'a\n\r\nb', 'line1\n\n\nline2', 'x \t y', 'x\u00a0y', 'x\u3000y',
    'x\u2028y', 'x\u2029y', 'x\u0085y', 'x\u200by', 'x\u202fy', 'x\u1680y', 'x\u2003 y', 'trailing spaces   ', '   ',
    "I'm", "you're", "we've", "she'll", "he'd", "it's", "don't", "I'M", "YOU'RE", "WE'VE", "SHE'LL", "HE'D",
    "IT'S", "DON'T", "It'S", "'s", "'t", "'re", "'ll", "'d", "'m", "'ve", "''s", "rock'n'roll", "o'clock",
    "'sup", " 's", "x 's", "x's", "x'S", "x'ſ", "x'st", "ain't'll", "'", "''", "'''",
    '1', '12', '123', '1234', '12345', '123456789', '3.14159', '1,000,000', '-42', '+7', '2024-11-27',
    '12:30:45', '0x1F600', '1e-9', 'v1.2.3', 'abc123def', '123abc', '١٢٣٤٥', '一二三', '²³', '½', 'Ⅻ', '①②③',
    '你好，世界', '我爱自然语言处理。', '日本語のテキスト', 'カタカナ', '한국어 텍스트', '中文English混合', '汉字123汉字',
    'مرحبا بالعالم', 'שלום עולם', 'مرحبا123', 'עברית English', '\u200fRTL mark', '\u202eoverride',
    'Привет, мир!', 'Ελληνικά', 'हिन्दी', 'ไทย', 'ქართული', 'Ꭰ', 'ᚠᛇᚻ',
    '😀', '😀😀', '👍🏽', '👨‍👩‍👧‍👦', '🏳️‍🌈', '👩🏿‍🔬', '🇺🇸🇫🇷', '❤️', '✈️', '#️⃣', '🧑‍🤝‍🧑',
    'emoji 😀 in text', 'a😀b', ' 😀', '😀 ', '😀\n', '🤖🤖🤖🤖',
    'e\u0301', 'é', 'Cafe\u0301', 'n\u0303', 'a\u0308\u0304', 'ᄀ\u1161\u11a8', 'Å', 'Å', 'ﬁ', 'ǅ', '\u0301alone',
    'z\u0335\u0321\u0322a\u0336l\u0337g\u0338o', 'क्षि',
    '<|im_start|>', '<|im_end|>', '<|endoftext|>', '<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n',
    'text<|endoftext|>text', ' <|endoftext|> ', '<|im_start|><|im_end|>', '<|im_start', 'im_start|>', '<|IM_START|>',
    '<|begin_of_text|>', '<|eot_id|>', '<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>',
    '<|reserved_special_token_5|>', '<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>', '<|file_sep|>x',
    '<<|endoftext|>>', '<|endoftext|><|endoftext|>', '<|endoftext|', '<s>', '</s>', '[INST]',
    'func main() {\n\tfmt.Println("hi")\n}\n', 'def f(x):\n    return x**2\n', 'if (a && b) { return; }',
    '#include <stdio.h>', 'x = [1, 2, 3];', 'SELECT * FROM t WHERE a=1;', '    indented\n        more',
    '<div class="x">hi</div>', '{"key": "value", "n": 1}', 'https://example.com/path?q=1&r=2#frag',
    'user@example.com', 'C:\\Windows\\System32', '/usr/local/bin', '$HOME/.config', '`code`', '```go\nx := 1\n```',
    '!!!', '???', '...', '---', '***', '___', '~~~', '!?', ' !!!', '\n!!!\n', '!!!\n\n', '.\n', ' .\r\n',
    '(a)', '[b]', '{c}', '"quoted"', '«guillemets»', '„German“', '—', '–', '…', '•', '·', '©®™', '§¶', '°C',
    '€100', '$100', '£', '¥', '₹', '+-*/=', '<>', '&&||', '@#$%^', '\\', '|', '\u0000', '\u0001', '\u007f', '\u00ad',
    'supercalifragilisticexpialidocious', 'Pneumonoultramicroscopicsilicovolcanoconiosis',
    'a'.repeat(100), 'ab'.repeat(60), ' '.repeat(50), '\n'.repeat(20), '1'.repeat(40), '!'.repeat(30),
    'The quick brown fox jumps over the lazy dog.', 'THE QUICK BROWN FOX', 'tHe QuIcK',
    'camelCaseIdentifier', 'snake_case_identifier', 'kebab-case-identifier', 'SCREAMING_SNAKE', 'ALLCAPS123',
    'Mixed русский and English', 'español ñ', 'français çà', 'Deutsch ß ẞ', 'Türkçe İı', 'Tiếng Việt',
    'ÆØÅ', 'Ωμέγα', 'ℌℍ', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '𝟘𝟙𝟚', 'ｆｕｌｌｗｉｄｔｈ', 'ＡＢＣ１２３', '︵', '㈱', '㍿',
    'tab\tseparated\tvalues', 'a\tb', '\t\n\t', ' \t \n', '\f', '\v', 'x\fy', 'x\vy',
    // SentencePiece-style files (Llama 2, Gemma): the ▁ meta symbol written in the text, byte-fallback
    // token text, text around special tokens (a dummy prefix per stretch), runs of spaces and newlines.
    '\u2581', '\u2581\u2581x', 'x\u2581y', ' \u2581 ', '<0x41>', '<0x0A>', '<unk>', '<s>Hello', 'Hello</s>World', ' <s> x',
    '<bos>', '<eos>', '<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n', '<pad>', '<mask>',
    '[INST] Hello [/INST]', '<s>[INST] Hi [/INST] Yo</s>', '<|im_start|>user\nHi<|im_end|>', '<think>\n\n</think>\n\n',
    '<｜begin▁of▁sentence｜>', '<｜User｜>Hi<｜Assistant｜>', '<|start|>user<|message|>Hi<|end|>', '<|channel|>final',
    ' '.repeat(31), ' '.repeat(33), '\n'.repeat(31), '\t'.repeat(33), '\n \n', '  x  ', 'x ' + ' '.repeat(17) + 'y',
    '\u{10FFFF}', '\u{E000}', '\u{1D11E}', '\ufffd', '\ufeffBOM', 'a\u0000b', '\u3164', '\u{20000}', '\u{2FA1D}',
    'The Gemma 3 model, released 2025, is multilingual: हिन्दी, 日本語, العربية.',
  ];
  // Random concatenations of fragments: whitespace runs next to punctuation,
  // digits and letters of several scripts.
  const frags = [' ', '  ', '\n', '\r\n', '\t', ' \n ', 'a', 'Zebra', 'über', '中文', 'שלום', '123', '4', '٣',
    "'s", "'LL", '!', '?!', '.', ',', '😀', '👍🏽', '👨‍👩‍👧', 'e\u0301', '<|im_start|>', '<|endoftext|>', '<|eot_id|>',
    '(', ')', '{', '}', '"', "'", '-', '_', '\u00a0', '\u3000', 'ß', 'İ', 'ǅ', '\u200d', '\u0301', 'ﬁ', '½', 'x1'];
  const r = rng(20261127);
  for (let i = 0; i < 130; i++) {
    const n = 2 + Math.floor(r() * 8);
    let t = '';
    for (let j = 0; j < n; j++) t += frags[Math.floor(r() * frags.length)];
    s.push(t);
  }
  return s;
}

async function main() {
  const [name, tokPath, outPath, stringsPath] = process.argv.slice(2);
  if (!outPath) {
    console.error('usage: node gen_goldens.js NAME TOKENIZER.json OUT.json [STRINGS.json]');
    process.exit(2);
  }
  const tok = Tokenizer.fromFile(tokPath);
  const strings = stringsPath ? JSON.parse(fs.readFileSync(stringsPath, 'utf8')) : hardStrings();
  const encodings = [];
  for (const text of strings) {
    const ids = (await tok.encode(text, null, { addSpecialTokens: false })).getIds();
    encodings.push({ text, ids: Array.from(ids) });
  }
  const withBOS = Array.from((await tok.encode('Hello', null, { addSpecialTokens: true })).getIds());
  // Decodings: the ids of some strings, and random id sequences (partial UTF-8,
  // special tokens) with and without skipping special tokens.
  const vocabSize = tok.getVocabSize(true);
  const r = rng(7);
  const seqs = [];
  for (let i = 0; i < encodings.length; i += 7) seqs.push(encodings[i].ids);
  for (let i = 0; i < 60; i++) {
    const n = 1 + Math.floor(r() * 6);
    const ids = [];
    for (let j = 0; j < n; j++) ids.push(Math.floor(r() * vocabSize));
    seqs.push(ids);
  }
  const decodings = [];
  for (const ids of seqs) {
    for (const skip of [false, true]) {
      decodings.push({ ids, skip_special: skip, text: await tok.decode(ids, skip) });
    }
  }
  const out = { tokenizer: name, oracle: '@anush008/tokenizers@0.6.0', vocab_size: vocabSize,
    encode_hello_with_special: withBOS, encodings, decodings };
  fs.writeFileSync(outPath, JSON.stringify(out, null, 0) + '\n');
  console.error(`${name}: ${encodings.length} strings, ${decodings.length} decodings -> ${outPath}`);
}
main().catch((e) => { console.error(e); process.exit(1); });
