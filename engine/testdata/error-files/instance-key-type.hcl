stage "fake" "a" {
  for_each = toset(["x", "y"])
  text     = each.key
}

# Reported once: the block is not decoded with the reference left out.
stage "fake" "b" {
  text = stage.fake.a[true].out # ERROR: Invalid Reference
}
