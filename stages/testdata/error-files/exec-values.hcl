stage "exec" "null_arg" {
  command = ["echo", null] # ERROR: Incorrect Attribute Type
}
stage "exec" "null_env" {
  command = ["true"]
  env     = { A = null } # ERROR: Incorrect Attribute Type
}
stage "exec" "env_keys" {
  command = ["true"]
  env     = { "A=B" = "c", "" = "d" } # ERROR: Invalid Environment Variable Name
}
stage "exec" "missing" {
  command = ["cat", "files/does-not-exist.txt"]
  inputs  = ["files/does-not-exist.txt"] # ERROR: Missing Input File
}
