model "a" {
  endpoint = "http://127.0.0.1:8000/v1"
  name     = null # ERROR: Empty model name
}
model "b" {
  endpoint = null # ERROR: Invalid endpoint
  name     = "m"
}
