// Package gguf holds a writer (and a small reader) for GGUF, the file
// format of llama.cpp and Ollama, and the export of a Hugging Face Qwen2,
// Qwen3, Llama, Mistral or Gemma 3 checkpoint folder to it: architecture
// metadata, tensors under llama.cpp's names (blk.N.attn_q.weight …) in F32
// or F16, the tokenizer (byte-level BPE as "gpt2", SentencePiece-style as
// "llama" with scores and token types) and the chat template.
//
// It follows the conventions of llama.cpp's convert_hf_to_gguf.py: Llama's
// query and key rows are permuted per head (llama.cpp rotates adjacent
// pairs, Hugging Face rotates halves), Llama-3 frequency scaling becomes a
// rope_freqs.weight tensor, Mistral is written as llama, Gemma's norm
// weights get 1 added (it scales by 1 + w), one-dimensional tensors stay
// F32, and the vocabulary is padded to the embedding's rows with [PADn] tokens.
//
// Reading checkpoints is left to package checkpoint; running GGUF files is
// left to llama.cpp (the numerics test in this package compares refeval's
// forward pass with goldens that llama.cpp produced from exported files).
package gguf
