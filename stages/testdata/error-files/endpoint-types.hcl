model "judge" {
  endpoint        = "http://127.0.0.1:8000/v1"
  name            = ["m"]  # ERROR: Unsuitable value type
  max_concurrency = "lots" # ERROR: Unsuitable value type
  max_retries     = 1.5    # ERROR: Unsuitable value type
}
