// Package bucket holds the one rule that rounds sequence lengths and batch
// sizes up to a few shapes, so that a long run compiles a few graphs
// instead of one per batch. Inference (package llm: scoring, generation,
// the shared-prefix judge) and training (package llm/train) pad to the
// same lengths.
package bucket
