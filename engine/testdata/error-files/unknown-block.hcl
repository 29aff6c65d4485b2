stage "fake" "a" {
  text = "x"
}

target "x" { # ERROR: Unsupported block type
}
