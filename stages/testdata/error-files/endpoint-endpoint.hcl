model "a" {
  endpoint = "vllm-host:8000/v1" # ERROR: Invalid endpoint
  name     = "m"
}

model "b" {
  endpoint = "http://127.0.0.1:8000/v1?api-key=sk-in-query-0000" # ERROR: Invalid endpoint
  name     = "m"
}
