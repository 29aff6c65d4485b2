# ERROR@0: Undeclared Variable
stage "fake" "a" {
  text = "x"
}
