# self_improve.hcl: the RefEval self-improvement loop on the embedded demo
# data, small enough to build on two CPU cores in a few minutes.
#
#   refeval build pipelines/self_improve.hcl
#   refeval build pipelines/self_improve.hcl --var 'judge_template=../prompts/refmatch.txt'
#   refeval sweep pipelines/self_improve.hcl --var beta=0.01,0.005,0.02,0.05,0.2
#   refeval sweep pipelines/self_improve.hcl --var judge_template=../prompts/base.txt,../prompts/refeval.txt
#
# tokenizer → init → sft (stage 1, distillation on the references) →
# sample 5 candidates per prompt → score them with the policy as its own
# judge (prompts/refeval.txt) → pairs → reference log-probs → DPO for each
# beta → eval each DPO policy against the SFT policy and the references.
# As in RLRR's self_improve.sh, the same chain on the first test prompts
# gives the validation pairs that pick each DPO run's best checkpoint.

variable "betas" {
  type        = list(string)
  default     = ["0.01", "0.005", "0.02", "0.05", "0.2"]
  description = "DPO betas, one dpo and eval stage each (the paper's five)."
}

variable "beta" {
  type        = string
  default     = ""
  description = "One DPO beta instead of the list, for refeval sweep --var beta=0.01,0.1: its stages are keyed \"sweep\", so every row of the sweep table has the same columns."
}

variable "judge_template" {
  default     = "../prompts/refeval.txt"
  description = "Judge template of the score stage: refeval.txt, refmatch.txt or base.txt."
}

variable "train_prompts" {
  type        = number
  default     = 100
  description = "Training prompts sampled and judged (of 525)."
}

variable "val_prompts" {
  type        = number
  default     = 20
  description = "Test prompts sampled and judged for DPO's validation pairs, as RLRR's val set (of 105)."
}

variable "test_prompts" {
  type        = number
  default     = 105
  description = "Held-out prompts evaluated (of 105)."
}

locals {
  max_tokens = 24
  # DPO runs by instance key: every beta of var.betas, or var.beta alone.
  runs = var.beta == "" ? { for b in var.betas : b => b } : { sweep = var.beta }
  # Prompt sets sampled, judged and paired: the training prompts, and the
  # first test prompts for DPO's validation pairs.
  splits = {
    train = { prompts = "../data/train.prompts.jsonl", references = "../data/train.references.jsonl", limit = var.train_prompts }
    val   = { prompts = "../data/test.prompts.jsonl", references = "../data/test.references.jsonl", limit = var.val_prompts }
  }
}

# Two of the judge templates are in the tokenizer's text so that a judge
# prompt is about 400 tokens, not 800. refeval.txt is left out (its wording
# is mostly theirs) so that editing it reruns scoring and what follows, but
# never the tokenizer, the model, SFT or sampling.
stage "tokenizer" "demo" {
  files = ["../data/corpus.txt", "../prompts/base.txt", "../prompts/refmatch.txt"]
  vocab = 2048
}

stage "init" "tiny" {
  tokenizer = stage.tokenizer.demo
  arch      = "qwen2"
  size      = "tiny"
  seed      = 1
}

# Stage 1: distillation, supervised on the reference answers.
stage "sft" "distill" {
  model         = stage.init.tiny
  prompts       = "../data/train.prompts.jsonl"
  references    = "../data/train.references.jsonl"
  lr            = 3e-3
  epochs        = 5
  batch         = 16
  warmup_ratio  = 0.05
  grad_accum    = 1
  schedule      = "cosine"
  max_grad_norm = 1
  weight_decay  = 0
  eval_fraction = 0.05
}

# Candidates, judgments, pairs and reference log-probs, once for the
# training prompts and, as RLRR's self_improve.sh builds val.pairs.jsonl from
# its test prompts, once for the first test prompts: the validation pairs
# (stage.logprobs.split["val"]) that pick each DPO run's best checkpoint.
stage "sample" "split" {
  for_each    = local.splits
  model       = stage.sft.distill
  prompts     = each.value.prompts
  limit       = each.value.limit
  n           = 5
  temperature = 0.8
  top_p       = 0.95
  max_tokens  = local.max_tokens
  batch       = 20
}

# The policy judges its own candidates against the references. A tiny
# policy never ranks the labels "a" and "b" among its top 5 next tokens, so
# the demo reads their log-probs wherever they rank (top_logprobs = 0);
# with a real model leave the paper's 5.
stage "score" "split" {
  for_each     = local.splits
  judge        = stage.sft.distill
  samples      = stage.sample.split[each.key]
  references   = each.value.references
  template     = var.judge_template
  top_logprobs = 0
  batch        = 20
}

stage "pairs" "split" {
  for_each  = local.splits
  scores    = stage.score.split[each.key].out
  tokenizer = stage.sft.distill # max_len (2048) counts the policy's tokens
}

stage "logprobs" "split" {
  for_each = local.splits
  model    = stage.sft.distill
  pairs    = stage.pairs.split[each.key]
}

stage "dpo" "beta" {
  for_each      = local.runs
  model         = stage.sft.distill
  pairs         = stage.logprobs.split["train"]
  beta          = tonumber(each.value)
  eval_pairs    = stage.logprobs.split["val"]
  # A tiny policy judged by itself: the paper's lr 5e-7 and batch 64 would
  # not move it; 39 steps of 8 pairs at 1.5e-4 do, and longer or faster
  # runs degenerate its answers.
  lr            = 1.5e-4
  batch         = 8
  grad_accum    = 1
  epochs        = 3
  eval_every    = 5
}

stage "eval" "sft" {
  policy     = stage.sft.distill
  prompts    = "../data/test.prompts.jsonl"
  references = "../data/test.references.jsonl"
  limit      = var.test_prompts
  judge      = "rouge-l"
  max_tokens = local.max_tokens
}

stage "eval" "dpo" {
  for_each   = local.runs
  policy     = stage.dpo.beta[each.key]
  baseline   = stage.sft.distill
  prompts    = "../data/test.prompts.jsonl"
  references = "../data/test.references.jsonl"
  limit      = var.test_prompts
  judge      = "rouge-l"
  max_tokens = local.max_tokens
}
