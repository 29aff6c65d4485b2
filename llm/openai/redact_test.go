package openai

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestKeyNeverLeaks makes servers echo the credentials back in error
// bodies, and checks that no error, log line, memo key or memo value holds
// them.
func TestKeyNeverLeaks(t *testing.T) {
	const key = "sk-test-Zq81mXf0LQ"
	const password = "hunter2-pw"
	// echoAuth answers with status code and a body quoting the request's
	// Authorization header, as some proxies do.
	echoAuth := func(code int) step {
		return func(w http.ResponseWriter, r *http.Request, _ *wireRequest) {
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided: %s (user %v)"}}`, r.Header.Get("Authorization"), r.URL.User)
		}
	}
	for _, tc := range []struct {
		name     string
		step     step
		withUser bool
		echoes   bool // the error quotes the server's message
	}{
		{"401 echoing the bearer key", echoAuth(http.StatusUnauthorized), false, true},
		{"500s echoing the bearer key", echoAuth(http.StatusInternalServerError), false, true},
		{"malformed body echoing the key", echoAuth(http.StatusOK), false, true},
		{"password in the endpoint", echoAuth(http.StatusBadGateway), true, true},
		{"dropped connection with a password in the endpoint", drop, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeServer(t, script(tc.step))
			endpoint := s.endpoint()
			if tc.withUser {
				endpoint = strings.Replace(endpoint, "http://", "http://admin-user:"+password+"@", 1)
			}
			var log strings.Builder
			memo := newMapMemo()
			c := newTestClient(t, Config{Endpoint: endpoint, APIKeyEnv: "OPENAI_API_KEY", MaxRetries: 2},
				WithLookupEnv(func(string) (string, bool) { return key, true }),
				WithLog(&log), WithMemo(memo))
			_, err := c.Chat(context.Background(), "pair 0/1", ChatRequest{Messages: userMsg("q")})
			if err == nil {
				t.Fatal("no error from a failing server")
			}
			if s.authSeen(0) != "Bearer "+key {
				t.Fatalf("the key was not sent: %q", s.authSeen(0))
			}
			text := err.Error() + "\n" + log.String()
			for _, secret := range []string{key, password, "admin-user"} {
				if strings.Contains(text, secret) {
					t.Errorf("secret %q leaked:\n%s", secret, text)
				}
			}
			if !strings.Contains(err.Error(), "pair 0/1") {
				t.Errorf("error does not name the item: %v", err)
			}
			if tc.echoes && !strings.Contains(err.Error(), "Bearer [redacted]") {
				t.Errorf("error lost the redacted server message: %v", err)
			}
		})
	}
}

func TestPrintingClientHidesKey(t *testing.T) {
	const key = "sk-print-me-not-42"
	c := newTestClient(t, Config{Endpoint: "http://user:pw-print-me-not@127.0.0.1:8000/v1", APIKeyEnv: "K"},
		WithLookupEnv(func(string) (string, bool) { return key, true }))
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		got := fmt.Sprintf(format, c)
		if strings.Contains(got, "print-me-not") {
			t.Errorf("%s prints a secret: %s", format, got)
		}
		if !strings.Contains(got, "Qwen2.5-72B-Instruct") {
			t.Errorf("%s does not name the model: %s", format, got)
		}
	}
}

func TestNewConfigErrors(t *testing.T) {
	const secret = "sk-live-abcdefgh"
	env := WithLookupEnv(func(name string) (string, bool) {
		switch name {
		case "SET_KEY":
			return secret, true
		case "EMPTY_KEY":
			return "", true
		}
		return "", false
	})
	for _, tc := range []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"missing variable", Config{Endpoint: "http://127.0.0.1:8000/v1", Name: "m", APIKeyEnv: "JUDGE_API_KEY"}, "environment variable JUDGE_API_KEY is not set"},
		{"empty variable", Config{Endpoint: "http://127.0.0.1:8000/v1", Name: "m", APIKeyEnv: "EMPTY_KEY"}, "environment variable EMPTY_KEY is not set"},
		{"no name", Config{Endpoint: "http://127.0.0.1:8000/v1"}, "model name is empty"},
		{"no endpoint", Config{Name: "m"}, "endpoint is empty"},
		{"not http", Config{Endpoint: "ftp://127.0.0.1/v1", Name: "m"}, "is not an http or https URL"},
		{"relative", Config{Endpoint: "vllm-host:8000/v1", Name: "m"}, "is not an http or https URL"},
		{"query with a password", Config{Endpoint: "http://u:" + secret + "@127.0.0.1/v1?api-key=" + secret, Name: "m"}, "endpoint has a query or fragment"},
		{"bad concurrency", Config{Endpoint: "http://127.0.0.1/v1", Name: "m", MaxConcurrency: -2}, "max_concurrency is -2"},
		{"works", Config{Endpoint: "http://127.0.0.1/v1", Name: "m", APIKeyEnv: "SET_KEY"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, env)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("wrong error\ngot:  %v\nwant: …%s…", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Errorf("error holds the secret: %v", err)
			}
		})
	}
}
