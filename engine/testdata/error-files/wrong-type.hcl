stage "fake" "a" {
  text = "x"
  n    = "not a number" # ERROR: Incorrect Attribute Type
}
