stage "fake" "a" {
  for_each = toset(["x", "y"])
  text     = each.key
}

stage "fake" "c" { text = "c" }

# A stage's output folder is no instance key.
stage "fake" "b" {
  text = stage.fake.a[stage.fake.c.out].out # ERROR: Index Unknown At Load
}
