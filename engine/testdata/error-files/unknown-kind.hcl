stage "fakee" "a" { # ERROR: Unknown Stage Kind
  text = "x"
}
