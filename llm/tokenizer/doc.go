// Package tokenizer holds a BPE tokenizer that reads Hugging Face
// tokenizer.json files, byte-level (Qwen2/2.5/3, Llama-3, GPT-2, DeepSeek-V3,
// gpt-oss) and SentencePiece-style character-level with byte fallback (Llama 2,
// Mistral, Gemma 3), and encodes exactly as the Rust tokenizers library does with
// add_special_tokens=false, a decoder (whole sequences and a streaming one that
// holds back incomplete UTF-8), and a trainer for small byte-level BPE
// vocabularies whose files load in the Rust library.
//
// What it covers of tokenizer.json: normalizers NFC, NFD, NFKC, NFKD,
// Lowercase, Prepend, Replace, Strip and Sequence; pre-tokenizers Split (regex
// or string, every behaviour), Metaspace and ByteLevel (with or without its
// GPT-2 regex), alone or in a Sequence; the BPE model with merges in "a b" or
// ["a", "b"] form, ignore_merges, byte_fallback, unk_token and fuse_unk; added
// and special tokens matched inside text; the ByteLevel decoder, or Replace,
// Metaspace, ByteFallback, Fuse and Strip; TemplateProcessing's special tokens
// (BOS). Anything else is refused by Load with an error that names it.
// The three regexes the known files use run on hand-written scanners proven
// equal to github.com/dlclark/regexp2 (the general fallback) in the tests.
//
// It leaves chat templates, model configs and weights to the other llm
// packages: it turns text into ids and back, nothing more.
package tokenizer
