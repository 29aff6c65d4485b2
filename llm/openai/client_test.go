package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestChatSendsRequest(t *testing.T) {
	var got wireRequest
	var mu sync.Mutex
	s := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, req *wireRequest, call int64) {
		mu.Lock()
		got = *req
		mu.Unlock()
		echo(w, r, req, call)
	})
	c := newTestClient(t, Config{Endpoint: s.endpoint() + "/", APIKeyEnv: "JUDGE_KEY"},
		WithLookupEnv(func(name string) (string, bool) { return "k-123456", name == "JUDGE_KEY" }))
	temp, topP, seed := 0.7, 0.9, int64(42)
	resp, err := c.Chat(context.Background(), "prompt 0", ChatRequest{
		Messages:    userMsg("hello"),
		N:           3,
		Temperature: &temp,
		TopP:        &topP,
		MaxTokens:   64,
		Seed:        &seed,
		Stop:        []string{"\n\n"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := wireRequest{Model: "Qwen2.5-72B-Instruct", Messages: userMsg("hello"), N: 3, Temperature: &temp, TopP: &topP, MaxTokens: 64, Seed: &seed, Stop: []string{"\n\n"}}
	mu.Lock()
	gj, _ := json.Marshal(got)
	mu.Unlock()
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Errorf("wrong request\ngot:  %s\nwant: %s", gj, wj)
	}
	if len(resp.Choices) != 3 || resp.Choices[2].Message.Content != "echo 2: hello" {
		t.Errorf("wrong choices\ngot:  %#v", resp.Choices)
	}
	if s.authSeen(0) != "Bearer k-123456" {
		t.Errorf("wrong Authorization header\ngot:  %#v\nwant: %#v", s.authSeen(0), "Bearer k-123456")
	}
	if p, cpl := c.Usage(); p != 7 || cpl != 3 {
		t.Errorf("wrong usage\ngot:  %d, %d\nwant: 7, 3", p, cpl)
	}
}

// script answers call i with steps[i-1] (the last step repeats).
type step func(w http.ResponseWriter, r *http.Request, req *wireRequest)

func script(steps ...step) func(http.ResponseWriter, *http.Request, *wireRequest, int64) {
	return func(w http.ResponseWriter, r *http.Request, req *wireRequest, call int64) {
		steps[min(int(call), len(steps))-1](w, r, req)
	}
}

func ok(w http.ResponseWriter, r *http.Request, req *wireRequest) { echo(w, r, req, 0) }

func status(code int, header ...string) step {
	return func(w http.ResponseWriter, _ *http.Request, _ *wireRequest) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":{"message":"status %d"}}`, code)
	}
}

func body(s string) step {
	return func(w http.ResponseWriter, _ *http.Request, _ *wireRequest) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(s))
	}
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter, _ *http.Request, _ *wireRequest) {
	panic(http.ErrAbortHandler)
}

// truncate promises more bytes than it sends, then drops the connection.
func truncate(w http.ResponseWriter, _ *http.Request, _ *wireRequest) {
	w.Header().Set("Content-Length", "1000")
	w.Write([]byte(`{"choices":[`))
	w.(http.Flusher).Flush()
	panic(http.ErrAbortHandler)
}

// stall waits past any client timeout, or until the client leaves.
func stall(w http.ResponseWriter, r *http.Request, _ *wireRequest) {
	select {
	case <-r.Context().Done():
	case <-time.After(5 * time.Second):
	}
}

func TestChatRetries(t *testing.T) {
	for _, tc := range []struct {
		name      string
		steps     []step
		n         int
		calls     int64  // requests the server must see
		wantErr   string // "" for success
		noRetries bool
	}{
		{name: "500 then answer", steps: []step{status(500), ok}, calls: 2},
		{name: "502 503 504 then answer", steps: []step{status(502), status(503), status(504), ok}, calls: 4},
		{name: "429 without Retry-After", steps: []step{status(429), ok}, calls: 2},
		{name: "429 with Retry-After 0", steps: []step{status(429, "Retry-After", "0"), ok}, calls: 2},
		{name: "408 then answer", steps: []step{status(408), ok}, calls: 2},
		{name: "dropped connection", steps: []step{drop, ok}, calls: 2},
		{name: "truncated body", steps: []step{truncate, ok}, calls: 2},
		{name: "500 forever", steps: []step{status(500)}, calls: 4, wantErr: `item pair 3/1: model Qwen2.5-72B-Instruct at http://127.0.0.1:`},
		{name: "500 forever gives up", steps: []step{status(500)}, calls: 4, wantErr: "giving up after 4 attempts: server answered 500 Internal Server Error"},
		{name: "no retries", steps: []step{status(503)}, calls: 1, noRetries: true, wantErr: "giving up after 1 attempt: server answered 503"},
		{name: "dropped forever", steps: []step{drop}, calls: 4, wantErr: "connection failed: "},
		{name: "400 is final", steps: []step{status(400), ok}, calls: 1, wantErr: "server answered 400 Bad Request"},
		{name: "401 is final", steps: []step{status(401), ok}, calls: 1, wantErr: "check the API key"},
		{name: "404 is final", steps: []step{status(404), ok}, calls: 1, wantErr: "check the endpoint"},
		{name: "malformed JSON", steps: []step{body(`{"choices": [`), ok}, calls: 1, wantErr: "item pair 3/1: model Qwen2.5-72B-Instruct at http://127.0.0.1:"},
		{name: "malformed JSON says so", steps: []step{body(`<html>bad gateway</html>`)}, calls: 1, wantErr: "malformed JSON"},
		{name: "missing choices", steps: []step{body(`{"id":"x","usage":{"prompt_tokens":1,"completion_tokens":0}}`)}, calls: 1, wantErr: "answer has no choices"},
		{name: "empty choices", steps: []step{body(`{"choices":[]}`)}, calls: 1, wantErr: "answer has no choices"},
		{name: "wrong n", n: 3, steps: []step{body(`{"choices":[{"index":0,"message":{"role":"assistant","content":"x"}},{"index":1,"message":{"role":"assistant","content":"y"}}]}`)}, calls: 1, wantErr: "answer has 2 choices, want n = 3"},
		{name: "duplicate index", n: 2, steps: []step{body(`{"choices":[{"index":0,"message":{"content":"x"}},{"index":0,"message":{"content":"y"}}]}`)}, calls: 1, wantErr: "choice indexes are not 0 to 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeServer(t, script(tc.steps...))
			cfg := Config{Endpoint: s.endpoint(), MaxRetries: 3}
			if tc.noRetries {
				cfg.MaxRetries = -1
			}
			c := newTestClient(t, cfg)
			resp, err := c.Chat(context.Background(), "pair 3/1", ChatRequest{Messages: userMsg("q"), N: tc.n})
			if got := s.calls.Load(); got != tc.calls {
				t.Errorf("wrong number of requests\ngot:  %d\nwant: %d", got, tc.calls)
			}
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if resp.Choices[0].Message.Content != "echo 0: q" {
					t.Errorf("wrong answer\ngot:  %#v", resp.Choices[0].Message.Content)
				}
				if st := c.Stats(); st.Retries != tc.calls-1 {
					t.Errorf("wrong retry count\ngot:  %d\nwant: %d", st.Retries, tc.calls-1)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("wrong error\ngot:  %v\nwant: …%s…", err, tc.wantErr)
			}
			var ie *ItemError
			if !errors.As(err, &ie) || ie.Item != "pair 3/1" {
				t.Errorf("error does not name the item: %#v", err)
			}
		})
	}
}

func TestChatRejectsBadRequest(t *testing.T) {
	s := newFakeServer(t, echo)
	c := newTestClient(t, Config{Endpoint: s.endpoint()})
	for _, tc := range []struct {
		name    string
		req     ChatRequest
		wantErr string
	}{
		{"no messages", ChatRequest{}, "no messages"},
		{"negative n", ChatRequest{Messages: userMsg("q"), N: -1}, "n must be positive"},
		{"top_logprobs without logprobs", ChatRequest{Messages: userMsg("q"), TopLogprobs: 5}, "needs logprobs = true"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.Chat(context.Background(), "x", tc.req)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("wrong error\ngot:  %v\nwant: …%s…", err, tc.wantErr)
			}
		})
	}
	if n := s.calls.Load(); n != 0 {
		t.Errorf("bad requests reached the server %d times", n)
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	s := newFakeServer(t, script(status(429, "Retry-After", "1"), ok))
	c := newTestClient(t, Config{Endpoint: s.endpoint()})
	start := time.Now()
	if _, err := c.Chat(context.Background(), "x", ChatRequest{Messages: userMsg("q")}); err != nil {
		t.Fatal(err)
	}
	// The backoff is at most 5ms; only Retry-After makes it wait a second.
	if d := time.Since(start); d < 950*time.Millisecond {
		t.Errorf("retried after %s; Retry-After asked for 1s", d)
	}
	if n := s.calls.Load(); n != 2 {
		t.Errorf("wrong number of requests\ngot:  %d\nwant: 2", n)
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in     string
		want   time.Duration
		wantOK bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"3", 3 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"-1", 0, false},
		{"99999999", maxRetryAfter, true},
		{"soon", 0, false},
		{"1.5", 0, false},
		{"Fri, 27 Nov 2026 06:00:07 GMT", 7 * time.Second, true},
		{"Friday, 27-Nov-26 06:00:30 GMT", 30 * time.Second, true}, // RFC 850
		{"Fri Nov 27 06:01:00 2026", time.Minute, true},            // asctime
		{"Fri, 27 Nov 2026 05:59:00 GMT", 0, true},                 // in the past
		{"Sat, 27 Nov 2027 06:00:00 GMT", maxRetryAfter, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseRetryAfter(tc.in, now)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("wrong wait\ngot:  %v, %v\nwant: %v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	c := &Client{backoffBase: 100 * time.Millisecond, backoffMax: time.Second}
	for _, tc := range []struct {
		attempt  int
		min, max time.Duration
	}{
		{0, 50 * time.Millisecond, 100 * time.Millisecond},
		{1, 100 * time.Millisecond, 200 * time.Millisecond},
		{3, 400 * time.Millisecond, 800 * time.Millisecond},
		{4, 500 * time.Millisecond, time.Second},
		{62, 500 * time.Millisecond, time.Second},
	} {
		t.Run(fmt.Sprint(tc.attempt), func(t *testing.T) {
			seen := map[time.Duration]bool{}
			for range 200 {
				d := c.backoff(tc.attempt)
				if d < tc.min || d > tc.max {
					t.Fatalf("wrong backoff\ngot:  %v\nwant: in [%v, %v]", d, tc.min, tc.max)
				}
				seen[d] = true
			}
			if len(seen) < 10 {
				t.Errorf("backoff has no jitter: %d distinct waits in 200 draws", len(seen))
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		steps   []step
		calls   int64
		wantErr string
	}{
		{"slow once", []step{stall, ok}, 2, ""},
		{"slow forever", []step{stall}, 3, "no answer within the timeout of 50ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeServer(t, script(tc.steps...))
			c := newTestClient(t, Config{Endpoint: s.endpoint(), Timeout: 50 * time.Millisecond, MaxRetries: 2})
			start := time.Now()
			_, err := c.Chat(context.Background(), "slow item", ChatRequest{Messages: userMsg("q")})
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %s; the timeout is 50ms per attempt", d)
			}
			if n := s.calls.Load(); n != tc.calls {
				t.Errorf("wrong number of requests\ngot:  %d\nwant: %d", n, tc.calls)
			}
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("wrong error\ngot:  %v\nwant: …%s…", err, tc.wantErr)
			}
		})
	}
}

func TestCancelStopsEverything(t *testing.T) {
	s := newFakeServer(t, script(stall))
	c := newTestClient(t, Config{Endpoint: s.endpoint(), MaxConcurrency: 2, Timeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	const items = 6 // two in flight, four waiting for a slot
	errs := make(chan error, items)
	for i := range items {
		go func() {
			_, err := c.Chat(ctx, fmt.Sprint("item ", i), ChatRequest{Messages: userMsg(fmt.Sprint(i))})
			errs <- err
		}()
	}
	for s.calls.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	deadline := time.After(2 * time.Second)
	for range items {
		select {
		case err := <-errs:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("wrong error\ngot:  %v\nwant: context.Canceled", err)
			}
		case <-deadline:
			t.Fatal("Chat calls still running 2s after cancellation")
		}
	}
	if n := s.calls.Load(); n != 2 {
		t.Errorf("wrong number of requests\ngot:  %d\nwant: 2 (the rest were waiting for a slot)", n)
	}
}

func TestCancelDuringBackoff(t *testing.T) {
	s := newFakeServer(t, script(status(503, "Retry-After", "60")))
	c := newTestClient(t, Config{Endpoint: s.endpoint()})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Chat(ctx, "x", ChatRequest{Messages: userMsg("q")})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("wrong error\ngot:  %v\nwant: context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("waited %s for a 60s Retry-After after the context ended", d)
	}
}

func TestConcurrencyBound(t *testing.T) {
	s := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, req *wireRequest, call int64) {
		time.Sleep(20 * time.Millisecond)
		echo(w, r, req, call)
	})
	const limit, items = 3, 30
	c := newTestClient(t, Config{Endpoint: s.endpoint(), MaxConcurrency: limit})
	var wg sync.WaitGroup
	for i := range items {
		wg.Go(func() {
			if _, err := c.Chat(context.Background(), fmt.Sprint(i), ChatRequest{Messages: userMsg(fmt.Sprint(i))}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if m := s.maxInflight.Load(); m > limit || m < 2 {
		t.Errorf("wrong most requests in flight\ngot:  %d\nwant: 2 to %d", m, limit)
	}
	if p, cpl := c.Usage(); p != 7*items || cpl != 3*items {
		t.Errorf("wrong usage\ngot:  %d, %d\nwant: %d, %d", p, cpl, 7*items, 3*items)
	}
}

// TestServerDiesMidRun runs items against a server that stops after a few
// answers, then resumes against a healthy one with the same memo: only the
// missing items reach the second server.
func TestServerDiesMidRun(t *testing.T) {
	const items, answered = 20, 8
	memo := newMapMemo()
	var dying *fakeServer
	var once sync.Once
	dying = newFakeServer(t, func(w http.ResponseWriter, r *http.Request, req *wireRequest, call int64) {
		if call > answered {
			once.Do(func() { go dying.Close() })
			panic(http.ErrAbortHandler)
		}
		echo(w, r, req, call)
	})
	run := func(c *Client) (done int, errs []error) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for i := range items {
			wg.Go(func() {
				resp, err := c.Chat(context.Background(), fmt.Sprintf("prompt %d", i), ChatRequest{Messages: userMsg(fmt.Sprint("q", i)), N: 2})
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
					return
				}
				if want := fmt.Sprintf("echo 1: q%d", i); resp.Choices[1].Message.Content != want {
					t.Errorf("wrong answer for item %d\ngot:  %#v\nwant: %#v", i, resp.Choices[1].Message.Content, want)
				}
				done++
			})
		}
		wg.Wait()
		return done, errs
	}

	first := newTestClient(t, Config{Endpoint: dying.endpoint(), MaxConcurrency: 4, MaxRetries: 2}, WithMemo(memo))
	done, errs := run(first)
	if done == 0 || done > answered || done+len(errs) != items {
		t.Fatalf("first run: %d answered, %d failed; want 1 to %d answered and the rest failed", done, len(errs), answered)
	}
	for _, err := range errs {
		if !strings.Contains(err.Error(), "item prompt ") {
			t.Errorf("error does not name its item: %v", err)
		}
	}
	if memo.len() != done {
		t.Errorf("wrong memo size after the first run\ngot:  %d\nwant: %d", memo.len(), done)
	}

	healthy := newFakeServer(t, echo)
	second := newTestClient(t, Config{Endpoint: healthy.endpoint(), MaxConcurrency: 4}, WithMemo(memo))
	done2, errs2 := run(second)
	if done2 != items || len(errs2) != 0 {
		t.Fatalf("second run: %d answered, errors %v", done2, errs2)
	}
	if n := healthy.calls.Load(); n != int64(items-done) {
		t.Errorf("wrong number of requests to the second server\ngot:  %d\nwant: %d", n, items-done)
	}
	st := second.Stats()
	if st.MemoHits != int64(done) || st.PromptTokens != 7*int64(items-done) {
		t.Errorf("wrong second-run stats\ngot:  %#v\nwant: %d memo hits, %d prompt tokens", st, done, 7*(items-done))
	}

	// A third run pays nothing.
	third := newTestClient(t, Config{Endpoint: healthy.endpoint()}, WithMemo(memo))
	if done3, _ := run(third); done3 != items || healthy.calls.Load() != int64(items-done) {
		t.Errorf("third run asked the server again: %d calls", healthy.calls.Load())
	}
}

func TestMemoKey(t *testing.T) {
	req := ChatRequest{Messages: userMsg("q"), Logprobs: true, TopLogprobs: 5}
	env := func(key string) Option {
		return WithLookupEnv(func(string) (string, bool) { return key, true })
	}
	a := newTestClient(t, Config{Endpoint: "http://127.0.0.1:1/v1", APIKeyEnv: "K"}, env("key-one-1234"))
	b := newTestClient(t, Config{Endpoint: "http://alice:pw-123456@127.0.0.2:2/other/v1", APIKeyEnv: "K"}, env("key-two-5678"))
	other := newTestClient(t, Config{Endpoint: "http://127.0.0.1:1/v1", Name: "Llama-3-8B"})
	ka, _ := a.MemoKey(req)
	kb, _ := b.MemoKey(req)
	ko, _ := other.MemoKey(req)
	req2 := req
	req2.TopLogprobs = 4
	k2, _ := a.MemoKey(req2)
	if ka != kb {
		t.Errorf("memo key depends on the endpoint or the key\ngot:  %s\nwant: %s", kb, ka)
	}
	if ka == ko || ka == k2 {
		t.Errorf("memo key ignores the model name or the request: %s", ka)
	}
	for _, secret := range []string{"key-one", "key-two", "alice", "pw-123456"} {
		if strings.Contains(ka+kb, secret) {
			t.Errorf("memo key holds %q", secret)
		}
	}
}

func TestMemoFailures(t *testing.T) {
	s := newFakeServer(t, echo)
	for _, tc := range []struct {
		name    string
		memo    *mapMemo
		wantErr string
	}{
		{"get fails", &mapMemo{m: map[string][]byte{}, getErr: errors.New("disk on fire")}, "item x: reading the memo: disk on fire"},
		{"put fails", &mapMemo{m: map[string][]byte{}, putErr: errors.New("disk full")}, "item x: writing the memo: disk full"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestClient(t, Config{Endpoint: s.endpoint()}, WithMemo(tc.memo))
			_, err := c.Chat(context.Background(), "x", ChatRequest{Messages: userMsg("q")})
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("wrong error\ngot:  %v\nwant: %s", err, tc.wantErr)
			}
		})
	}
	t.Run("unreadable entry", func(t *testing.T) {
		memo := newMapMemo()
		c := newTestClient(t, Config{Endpoint: s.endpoint()}, WithMemo(memo))
		req := ChatRequest{Messages: userMsg("q")}
		key, _ := c.MemoKey(req)
		memo.Put(key, []byte("garbage"))
		before := s.calls.Load()
		resp, err := c.Chat(context.Background(), "x", req)
		if err != nil || resp.Choices[0].Message.Content != "echo 0: q" || s.calls.Load() != before+1 {
			t.Errorf("unreadable memo entry not replaced: %v", err)
		}
		if v, _, _ := memo.Get(key); string(v) == "garbage" {
			t.Error("memo entry not rewritten")
		}
	})
}

func TestRetryLog(t *testing.T) {
	s := newFakeServer(t, script(status(503), status(429, "Retry-After", "0"), ok))
	var log strings.Builder
	c := newTestClient(t, Config{Endpoint: s.endpoint()}, WithLog(&log))
	if _, err := c.Chat(context.Background(), "prompt 12", ChatRequest{Messages: userMsg("q")}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	want := []string{
		"openai: item prompt 12: attempt 1 of 6 failed (server answered 503 Service Unavailable: ",
		"openai: item prompt 12: attempt 2 of 6 failed (server answered 429 Too Many Requests: ",
	}
	if len(lines) != len(want) {
		t.Fatalf("wrong log\ngot:  %q\nwant: %d lines", lines, len(want))
	}
	for i := range want {
		if !strings.HasPrefix(lines[i], want[i]) {
			t.Errorf("wrong log line %d\ngot:  %s\nwant: %s…", i, lines[i], want[i])
		}
	}
	if !strings.HasSuffix(lines[1], "retrying in 0s") {
		t.Errorf("Retry-After 0 not honoured in the log: %s", lines[1])
	}
}
