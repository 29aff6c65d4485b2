// Package transformer builds the GoMLX computation graph of the Qwen2,
// Qwen3, Llama, Mistral and Gemma 3 decoders, one graph with the families'
// differences as configuration flags: embeddings (scaled by √hidden for
// Gemma), RMSNorm (Gemma's scales by 1 + w), RoPE (Hugging Face's
// rotate-half, with Llama-3 or linear frequency scaling, and a base of
// their own for sliding-window layers), grouped-query attention with
// optional q/k/v biases, per-head q/k norms and sliding windows, SwiGLU or
// GeGLU, Gemma's extra norms, and a tied or untied lm_head. Weights keep the
// Hugging Face names and [out, in] layout and are read through a
// [Weights] function, so the same graph serves inference (weights from a
// model.Store) and training (gradients flow into the store's variables);
// for inference, FuseQKV and WithFusedQKV join each layer's q, k and v
// projections into one weight.
//
// The decoder layer is written once: the full forward (inference and
// training), Prefill, DecodeStep and Extend run the same layer function
// with an optional key/value cache and differ only in positions and
// attention mask. The package also holds the one token log-prob gather
// (TargetLogProbs) that llm scoring and llm/train share.
// Loading checkpoints is left to package checkpoint; sampling, batching and
// compiled-graph reuse are left to package llm.
package transformer
