stage "fake" "a" { # ERROR: Missing required argument
  n = 1
}
