# Executor blocks and the executor argument: every problem, at once.
executor "slurm" "gpu" {
  partition = "gpu"
}
executor "slurm" "gpu" { # ERROR: Duplicate Executor
}

stage "fake" "undeclared" {
  executor = executor.slurm.cpu # ERROR: Undeclared Executor
  text     = "x"
}

stage "fake" "string" {
  executor = "slurm.gpu" # ERROR: Invalid executor Argument
  text     = "x"
}

stage "fake" "short" {
  executor = executor.slurm # ERROR: Invalid executor Argument
  text     = "x"
}

stage "fake" "fine" {
  executor = executor.slurm.gpu
  text     = "x"
}

stage "fake" "here" {
  executor = "local"
  text     = "x"
}
