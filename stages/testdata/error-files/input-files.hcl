# Checked at load, before any upstream stage runs (issue 9 items 8 and 9).
stage "init" "neg" {
  tokenizer = "files/tokenizer.json"
  size      = "-5M" # ERROR: Invalid size
}
stage "init" "huge" {
  tokenizer = "files/tokenizer.json"
  size      = "900T" # ERROR: Invalid size
}
stage "sample" "empty" {
  model   = "files/model"
  prompts = "files/empty.prompts.jsonl" # ERROR: Empty Prompts File
}
stage "sft" "refs" {
  model      = "files/model"
  prompts    = "files/prompts.jsonl"
  references = "files/two.references.jsonl" # ERROR: Wrong Reference Count
}
stage "sample" "cands" {
  model   = "files/model"
  prompts = "files/prompts.jsonl"
}
stage "score" "slot" {
  judge    = "files/model"
  samples  = stage.sample.cands
  template = "files/slot.txt" # ERROR: Invalid Input File
}
stage "eval" "rouge" {
  policy     = "files/model"
  prompts    = "files/prompts.jsonl"
  references = "files/prompts.jsonl"
  judge      = "rouge-x" # ERROR: Invalid judge
}
