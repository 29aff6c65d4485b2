# hello.hcl: a small exec pipeline showing references, inputs and for_each.
#
#   refeval build pipelines/hello.hcl
#   refeval plan pipelines/hello.hcl --var greeting=hi
#   refeval graph pipelines/hello.hcl --format mermaid

variable "greeting" {
  default     = "hello"
  description = "The word each greeting starts with."
}

locals {
  names = ["ada", "grace", "edsger"]
}

# One instance per name: stage.exec.greet["ada"], ...
stage "exec" "greet" {
  for_each = toset(local.names)
  command  = ["sh", "-c", "echo '${var.greeting}, ${each.value}!' > $OUT/greeting.txt"]
}

# Uses every instance of greet: a reference is an edge.
stage "exec" "collect" {
  command = ["sh", "-c", "cat ${join(" ", [for g in stage.exec.greet : "${g.out}/greeting.txt"])} | sort > $OUT/all.txt"]
}

# Runs again only if collect's output changes (early cutoff).
stage "exec" "count" {
  command = ["sh", "-c", "wc -l < ${stage.exec.collect.out}/all.txt | tr -d ' ' > $OUT/lines.txt; echo \"{\\\"lines\\\": $(cat $OUT/lines.txt)}\" > $OUT/metrics.json"]
}
