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
