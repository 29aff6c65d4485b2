stage "fake" "a" {
  text   = "x"
  inputs = ["does-not-exist.txt"] # ERROR: Missing Input File
}
