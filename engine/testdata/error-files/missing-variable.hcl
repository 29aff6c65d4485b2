variable "beta" { # ERROR: Missing Variable Value
  type = number
}

stage "fake" "a" {
  text = "${var.beta}"
}
