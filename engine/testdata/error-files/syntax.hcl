stage "fake" "a" {
  text = "x" "y" # ERROR: Missing newline after argument
}
