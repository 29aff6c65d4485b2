// Package llm is the facade the pipeline stages use to run a language
// model: Load a Hugging Face checkpoint folder onto a GoMLX backend, then
// Generate samples (KV cache, temperature/top-p/top-k/greedy, reproducible
// per item whatever the batch), score SequenceLogProbs over response tokens
// and read NextTokenLogProbs after a prefix (the judge's label position).
//
// Batches are padded to bucketed shapes so compiled graphs are reused. The
// graph itself is package transformer's; checkpoints are package
// checkpoint's; text is packages tokenizer and chat's; training is package
// train's.
package llm
