stage "fake" "a" {
  text = "x"
}

stage "fake" "a" { # ERROR: Duplicate Stage
  text = "y"
}
