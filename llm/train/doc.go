// Package train holds the training core of refeval: DPO (Rafailov et al.,
// 2023, with TRL's sigmoid, IPO and hinge losses, label smoothing and the
// reference-free variant) and SFT, both as GoMLX graph code over a causal
// language model whose weights are trainable variables of a model.Store.
//
// It holds the losses ([PreferenceLoss], [SequenceLogProbs],
// [TokenCrossEntropy]), AdamW with decoupled weight decay and global-norm
// gradient clipping, learning-rate schedules, gradient accumulation, a
// replica-per-device form of data parallelism, NaN/inf detection, periodic
// evaluation and best-checkpoint selection ([DPO], [SFT]).
//
// It leaves to others: the transformer graph and loading checkpoint tensors
// into variables (llm/transformer, handed in as a [Model]), tokenizing and
// chat templates (the caller hands in token ids), reference log-probs (the
// logprobs stage precomputes them; see [PairExample]), and writing
// checkpoints, metrics files and plots (stages/dpo, stages/sft).
package train
