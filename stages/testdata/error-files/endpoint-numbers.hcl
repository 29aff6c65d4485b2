model "judge" {
  endpoint        = "http://127.0.0.1:8000/v1"
  name            = "m"
  max_concurrency = 0            # ERROR: Invalid max_concurrency
  timeout         = "10 minutes" # ERROR: Invalid timeout
  max_retries     = -1           # ERROR: Invalid max_retries
}

model "negative" {
  endpoint = "http://127.0.0.1:8000/v1"
  name     = ""   # ERROR: Empty model name
  timeout  = "-5s" # ERROR: Invalid timeout
}
