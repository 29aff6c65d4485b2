package openai

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeServer behaves like vLLM's OpenAI API on a loopback address: POST
// /v1/chat/completions answers through handle, and the server counts
// requests and the most it had in flight.
type fakeServer struct {
	*httptest.Server
	handle func(w http.ResponseWriter, r *http.Request, req *wireRequest, call int64)

	calls       atomic.Int64
	inflight    atomic.Int64
	maxInflight atomic.Int64
	mu          sync.Mutex
	auth        []string // Authorization headers seen
	bodies      []string // request bodies seen
}

func newFakeServer(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, req *wireRequest, call int64)) *fakeServer {
	t.Helper()
	s := &fakeServer{handle: handle}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
		return
	}
	call := s.calls.Add(1)
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	for {
		m := s.maxInflight.Load()
		if n <= m || s.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	s.mu.Lock()
	s.auth = append(s.auth, r.Header.Get("Authorization"))
	s.mu.Unlock()
	data, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.bodies = append(s.bodies, string(data))
	s.mu.Unlock()
	var req wireRequest
	if err := json.Unmarshal(data, &req); err != nil {
		http.Error(w, `{"error":{"message":"bad json"}}`, http.StatusBadRequest)
		return
	}
	s.handle(w, r, &req, call)
}

// authSeen returns the Authorization header of request i (from 0).
func (s *fakeServer) authSeen(i int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i >= len(s.auth) {
		return ""
	}
	return s.auth[i]
}

// bodySeen returns the body of request i (from 0).
func (s *fakeServer) bodySeen(i int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i >= len(s.bodies) {
		return ""
	}
	return s.bodies[i]
}

// endpoint is the server's API base.
func (s *fakeServer) endpoint() string { return s.URL + "/v1" }

// vllmAnswer is the JSON shape vLLM sends, extra fields included.
type vllmAnswer struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []vllmChoice `json:"choices"`
	Usage   struct {
		PromptTokens     int64 `json:"prompt_tokens"`
		TotalTokens      int64 `json:"total_tokens"`
		CompletionTokens int64 `json:"completion_tokens"`
	} `json:"usage"`
}

type vllmChoice struct {
	Index   int `json:"index"`
	Message struct {
		Role      string `json:"role"`
		Content   string `json:"content"`
		ToolCalls []any  `json:"tool_calls"`
	} `json:"message"`
	Logprobs     *Logprobs `json:"logprobs"`
	FinishReason string    `json:"finish_reason"`
	StopReason   any       `json:"stop_reason"`
}

// answer writes an answer to req with one choice per content. When req
// asks for log-probs, each choice's tokens are its content split by
// splitTokens, with top alternatives from tops (by token text) or none.
func answer(w http.ResponseWriter, req *wireRequest, contents []string, tops map[string][]TopLogprob, usage [2]int64) {
	a := vllmAnswer{ID: "chatcmpl-test", Object: "chat.completion", Created: 1764200000, Model: req.Model}
	for i, c := range contents {
		ch := vllmChoice{Index: i, FinishReason: "stop"}
		ch.Message.Role = "assistant"
		ch.Message.Content = c
		if req.Logprobs {
			ch.Logprobs = &Logprobs{}
			for _, tok := range splitTokens(c) {
				tl := TokenLogprob{Token: tok, Logprob: -0.01, Bytes: bytesOf(tok)}
				for _, alt := range tops[tok] {
					if alt.Token == tok {
						tl.Logprob = alt.Logprob
					}
				}
				if req.TopLogprobs > 0 {
					tl.TopLogprobs = tops[tok]
					if len(tl.TopLogprobs) > req.TopLogprobs {
						tl.TopLogprobs = tl.TopLogprobs[:req.TopLogprobs]
					}
				}
				ch.Logprobs.Content = append(ch.Logprobs.Content, tl)
			}
		}
		a.Choices = append(a.Choices, ch)
	}
	a.Usage.PromptTokens, a.Usage.CompletionTokens = usage[0], usage[1]
	a.Usage.TotalTokens = usage[0] + usage[1]
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(a)
}

// splitTokens splits text the way a BPE tokenizer splits "Output (a)":
// words with their leading space, and "(" with its leading space.
func splitTokens(s string) []string {
	var toks []string
	start := 0
	for i := 1; i <= len(s); i++ {
		if i == len(s) || s[i] == ' ' || s[i] == '(' && s[i-1] != ' ' || s[i-1] == '(' || s[i] == ')' {
			toks = append(toks, s[start:i])
			start = i
		}
	}
	return toks
}

func bytesOf(s string) []int {
	b := make([]int, len(s))
	for i := range s {
		b[i] = int(s[i])
	}
	return b
}

// echo answers each request with n copies of "echo: <last message>".
func echo(w http.ResponseWriter, _ *http.Request, req *wireRequest, _ int64) {
	n := max(req.N, 1)
	contents := make([]string, n)
	for i := range contents {
		contents[i] = fmt.Sprintf("echo %d: %s", i, req.Messages[len(req.Messages)-1].Content)
	}
	answer(w, req, contents, nil, [2]int64{7, 3})
}

// mapMemo is an in-memory Memo.
type mapMemo struct {
	mu     sync.Mutex
	m      map[string][]byte
	getErr error
	putErr error
}

func newMapMemo() *mapMemo { return &mapMemo{m: map[string][]byte{}} }

func (m *mapMemo) Get(key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.getErr != nil {
		return nil, false, m.getErr
	}
	v, ok := m.m[key]
	return v, ok, nil
}

func (m *mapMemo) Put(key string, val []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.putErr != nil {
		return m.putErr
	}
	m.m[key] = append([]byte(nil), val...)
	return nil
}

func (m *mapMemo) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}

// newTestClient builds a client for s with fast backoff.
func newTestClient(t *testing.T, cfg Config, opts ...Option) *Client {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "Qwen2.5-72B-Instruct"
	}
	opts = append([]Option{WithBackoff(time.Millisecond, 5*time.Millisecond)}, opts...)
	c, err := New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func userMsg(s string) []Message { return []Message{{Role: "user", Content: s}} }

// TestSplitTokens checks the fake tokenizer the other tests rely on.
func TestSplitTokens(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"Output (a)", []string{"Output", " (", "a", ")"}},
		{"I pick Output (b) here", []string{"I", " pick", " Output", " (", "b", ")", " here"}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got := splitTokens(tc.in)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("wrong tokens\ngot:  %#v\nwant: %#v", got, tc.want)
			}
		})
	}
}
