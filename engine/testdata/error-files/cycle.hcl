stage "fake" "a" { # ERROR: Dependency Cycle
  text = stage.fake.c.out
}

stage "fake" "b" {
  text = stage.fake.a.out
}

stage "fake" "c" {
  text = "${stage.fake.b.out}/x"
}

stage "fake" "self" { # ERROR: Dependency Cycle
  text = stage.fake.self.out
}

stage "fake" "ok" {
  text = stage.fake.a.out
}
