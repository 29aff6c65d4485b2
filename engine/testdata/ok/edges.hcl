variable "n" { default = "2" }

locals {
  prep_out = stage.fake.prep.out
  label    = "run-${var.n}"
}

model "policy" {
  path = "${local.prep_out}/model"
}

dataset "train" {
  prompts = "${stage.fake.data.out}/prompts.jsonl"
}

stage "fake" "prep" { text = "p" }
stage "fake" "data" { text = "d" }
stage "fake" "other" { text = "o" }

stage "fake" "train" {
  for_each = toset(["a", "b"])
  text     = "${model.policy.path} ${dataset.train.prompts} ${each.key} ${local.label}"
}

stage "fake" "pick" {
  text = stage.fake.train["b"].out
}

stage "fake" "after" {
  text       = "x"
  depends_on = [stage.fake.other]
}

# Indexed by an expression: each instance depends on the instance its
# index names, not on every instance of the block.
stage "fake" "score" {
  for_each = toset(["a", "b"])
  text     = "score ${each.key}"
}

stage "fake" "pairs" {
  for_each = toset(["a", "b"])
  text     = stage.fake.score[each.key].out
}

stage "fake" "mixed" {
  for_each = { x = "a", y = "b" }
  text     = "${stage.fake.pairs[each.value].out} ${stage.fake.score[local.first].out}"
}

locals {
  first   = "a"
  dynamic = trimprefix(stage.fake.prep.out, stage.fake.prep.out)
}

# An index that reaches a stage output is only known when it runs: every
# instance is a dependency.
stage "fake" "late" {
  text = stage.fake.score["${local.dynamic}a"].out
}

# Also every instance when the block is used whole.
stage "fake" "all" {
  text = join(" ", [for k, s in stage.fake.score : s.out])
}
