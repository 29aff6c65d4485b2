# Model blocks are checked where they are written (issue 9 items 7-10).
model "both" {
  path     = "files/model"
  endpoint = "http://host:8000/v1" # ERROR: Conflicting Model Source
}
model "typo" {
  path  = "files/model"
  tmeout = "3s" # ERROR: Unsupported Attribute
}
model "key" {
  endpoint    = "http://host:8000/v1"
  name        = "m"
  api_key_env = "sk-live-0123456789abcdef" # ERROR: Invalid api_key_env
}
model "port" {
  endpoint = "http://127.0.0.1:/v1" # ERROR: Invalid endpoint
  name     = "m"
}
model "query" {
  endpoint = "http://host:8000/v1?api-key=1" # ERROR: Invalid endpoint
  name     = "m"
}
model "notaurl" {
  endpoint = "host:8000" # ERROR: Invalid endpoint
  name     = "m"
}
model "none" { # ERROR: Missing Model Source
}
model "stray" {
  path = "files/model"
  name = "m" # ERROR: Endpoint Setting Without Endpoint
}

# A stage that uses a bad model block is not reported a second time.
stage "sample" "s" {
  model   = model.port
  prompts = "files/prompts.jsonl"
}
