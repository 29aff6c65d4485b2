// Package gguf holds a writer (and a small reader) for GGUF, the file
// format of llama.cpp and Ollama, and the export of a Hugging Face Qwen2 or
// Llama checkpoint folder to it: architecture metadata, tensors under
// llama.cpp's names (blk.N.attn_q.weight …) in F32 or F16, the byte-level
// BPE tokenizer and the chat template.
//
// It follows the conventions of llama.cpp's convert_hf_to_gguf.py: Llama's
// query and key rows are permuted per head (llama.cpp rotates adjacent
// pairs, Hugging Face rotates halves), Llama-3 frequency scaling becomes a
// rope_freqs.weight tensor, one-dimensional tensors stay F32, and the
// vocabulary is padded to the embedding's rows with [PADn] tokens.
//
// Reading checkpoints is left to package checkpoint; running GGUF files is
// left to llama.cpp (the numerics test in this package compares refeval's
// forward pass with goldens that llama.cpp produced from exported files).
package gguf
