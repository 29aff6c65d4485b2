locals {
  a = local.b # ERROR: Dependency Cycle
  b = local.a
}

stage "fake" "x" {
  text = local.a
}
