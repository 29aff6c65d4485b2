# ablation.hcl: the paper's judge ablation on the embedded demo data — the
# judge prompt (base, refeval, refmatch, or the model-free rouge-l judge)
# crossed with the DPO beta. Tokenizer, model, SFT and sampling run once
# (the same actions as self_improve.hcl's, so a shared cache has them);
# each judge scores the same candidates, and each (judge, beta) trains and
# evaluates its own policy.
#
#   refeval build pipelines/ablation.hcl
#   refeval build pipelines/ablation.hcl --var 'betas=["0.01","0.1"]'

variable "betas" {
  type        = list(string)
  default     = ["0.01", "0.1"]
  description = "DPO betas crossed with every judge."
}

variable "train_prompts" {
  type        = number
  default     = 100
  description = "Training prompts sampled and judged (of 525)."
}

variable "test_prompts" {
  type        = number
  default     = 105
  description = "Held-out prompts evaluated (of 105)."
}

locals {
  max_tokens = 24
  # Judge name → template ("" for the model-free judge).
  judges = {
    base     = "../prompts/base.txt"
    refeval  = "../prompts/refeval.txt"
    refmatch = "../prompts/refmatch.txt"
    rouge-l  = ""
  }
  runs = { for p in setproduct(keys(local.judges), var.betas) : "${p[0]}/${p[1]}" => { judge = p[0], beta = p[1] } }
}

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

stage "sample" "train" {
  model       = stage.sft.distill
  prompts     = "../data/train.prompts.jsonl"
  limit       = var.train_prompts
  n           = 5
  temperature = 0.8
  top_p       = 0.95
  max_tokens  = local.max_tokens
  batch       = 20
}

stage "score" "judge" {
  for_each     = local.judges
  judge        = each.key == "rouge-l" ? "rouge-l" : stage.sft.distill.out
  template     = each.value == "" ? null : each.value
  samples      = stage.sample.train
  references   = "../data/train.references.jsonl"
  top_logprobs = 0 # see self_improve.hcl
  batch        = 20
}

stage "pairs" "judge" {
  for_each  = local.judges
  scores    = stage.score.judge[each.key].out
  tokenizer = stage.sft.distill
}

stage "logprobs" "judge" {
  for_each = local.judges
  model    = stage.sft.distill
  pairs    = stage.pairs.judge[each.key]
}

stage "dpo" "run" {
  for_each      = local.runs
  model         = stage.sft.distill
  pairs         = stage.logprobs.judge[each.value.judge]
  beta          = tonumber(each.value.beta)
  lr            = 1.5e-4 # see self_improve.hcl
  batch         = 8
  grad_accum    = 1
  epochs        = 3
  eval_fraction = 0.2
  eval_every    = 5
}

stage "eval" "run" {
  for_each   = local.runs
  policy     = stage.dpo.run[each.key]
  baseline   = stage.sft.distill
  prompts    = "../data/test.prompts.jsonl"
  references = "../data/test.references.jsonl"
  limit      = var.test_prompts
  judge      = "rouge-l"
  max_tokens = local.max_tokens
}

# One file with every run's eval metrics, headed by its judge/beta key.
stage "exec" "report" {
  command = ["sh", "-c", join("; ", [for k, e in stage.eval.run : "echo '== ${k}' >> $OUT/report.txt; cat ${e.out}/metrics.json >> $OUT/report.txt"])]
}
