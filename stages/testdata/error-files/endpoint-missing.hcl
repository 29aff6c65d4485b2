model "judge" { # ERROR: Missing required argument
  endpoint = "http://127.0.0.1:8000/v1"
}
