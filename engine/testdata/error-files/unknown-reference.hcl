variable "v" { default = "x" }

locals {
  l = var.w # ERROR: Reference To Undeclared Variable
}

stage "fake" "a" {
  text = stage.fake.nope.out # ERROR: Reference To Undeclared Stage
}

stage "fake" "b" {
  text = "${model.m.path}" # ERROR: Reference To Undeclared Model
}

stage "fake" "c" {
  text = each.key # ERROR: Invalid Reference To each
}

stage "fake" "d" {
  text = foo.bar # ERROR: Unknown Reference
}
