variable "n" { type = number } # ERROR: Invalid Variable Value
stage "fake" "a" {
  text = "${var.n}"
}
