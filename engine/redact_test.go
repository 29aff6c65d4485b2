package engine

import "testing"

func TestRedactConfig(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"http://vllm:8000/v1"`, `"http://vllm:8000/v1"`},
		{`"https://user:s3cret@api.example.com/v1"`, `"https://REDACTED@api.example.com/v1"`},
		{`{"endpoint":"http://u:p%40ss@h/v1","name":"m"}`, `{"endpoint":"http://REDACTED@h/v1","name":"m"}`},
		{`"user@example.com"`, `"user@example.com"`},
		{`"http://token@host/v1"`, `"http://REDACTED@host/v1"`},
		{`"see a@b and http://h/x"`, `"see a@b and http://h/x"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := string(redactConfig([]byte(tt.in))); got != tt.want {
				t.Errorf("wrong redaction\ngot:  %s\nwant: %s", got, tt.want)
			}
		})
	}
}
