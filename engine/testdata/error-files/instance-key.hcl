stage "fake" "a" {
  for_each = toset(["x", "y"])
  text     = each.key
}

stage "fake" "b" {
  text = stage.fake.a["z"].out # ERROR: Reference To Undeclared Stage Instance
}

stage "fake" "c" {
  for_each = { p = "x", q = "w" }
  text     = stage.fake.a[each.value].out # ERROR: Reference To Undeclared Stage Instance
}
