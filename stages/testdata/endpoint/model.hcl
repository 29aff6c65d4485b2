# A judge served by vLLM on another machine.
model "judge" {
  endpoint        = "http://${var.host}:8000/v1"
  name            = "Qwen2.5-72B-Instruct"
  api_key_env     = "OPENAI_API_KEY"
  max_concurrency = 64
  timeout         = "90s"
  max_retries     = 0
}

# Everything else takes the defaults.
model "hosted" {
  endpoint = "https://api.example.com/v1"
  name     = "frontier-1"
}
