model "judge" {
  endpoint    = "http://127.0.0.1:8000/v1"
  name        = "m"
  api_key_env = "sk-proj-pasted-key-0000" # ERROR: Invalid api_key_env
}
