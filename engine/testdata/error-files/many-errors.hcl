stage "fake" "a" {
  text  = var.nope # ERROR: Reference To Undeclared Variable
  extra = 1 # ERROR: Unsupported Attribute
}

stage "nokind" "b" { # ERROR: Unknown Stage Kind
  text = "x"
}

stage "fake" "c" {
  text = "x"
  gpus = "two" # ERROR: Invalid gpus Argument
}

stage "fake" "d" {
  text = "x"
  n    = "NaN!" # ERROR: Incorrect Attribute Type
}
