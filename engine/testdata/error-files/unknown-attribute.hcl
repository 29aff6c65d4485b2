stage "fake" "a" {
  text  = "x"
  textt = "y" # ERROR: Unsupported Attribute
}

stage "fake" "b" {
  text = "x"
  command = ["echo"] # ERROR: Unsupported Attribute
}
