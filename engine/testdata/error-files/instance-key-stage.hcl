stage "fake" "a" {
  for_each = toset(["x", "y"])
  text     = each.key
}

stage "fake" "c" { text = "c" }

# A stage's output folder is no instance key.
stage "fake" "b" {
  text = stage.fake.a[stage.fake.c.out].out # ERROR: Index Unknown At Load
}

# Reported though the first instance's index happens to name one.
stage "fake" "d" {
  for_each = toset(["p", "q"])
  text     = stage.fake.a[each.key == "p" ? "x" : stage.fake.c.out].out # ERROR: Index Unknown At Load
}
