stage "fake" "a" {
  for_each = "abc" # ERROR: Invalid for_each Argument
  text     = each.value
}

stage "fake" "b" {
  for_each = ["x", "y"] # ERROR: Invalid for_each Argument
  text     = each.value
}

stage "fake" "c" {
  text = "x"
}

stage "fake" "d" {
  for_each = toset([stage.fake.c.out]) # ERROR: Invalid for_each Argument
  text     = each.value
}
