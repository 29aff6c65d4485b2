package stages

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refeval/refeval/engine"
)

// recordingServer is a fake vLLM that keeps every request body, counts
// the requests its handlers serve at once, and answers samplers with
// "answer I" and judges "Output (a)" with log-probs (just the label when
// the request continues a prefilled turn). reject, when set, makes it
// answer 400 to requests whose user turn contains it.
type recordingServer struct {
	*httptest.Server
	latency time.Duration
	reject  string

	mu       sync.Mutex
	bodies   []map[string]any
	inFlight int
	maxSeen  int
}

func newRecordingServer(t testing.TB, latency time.Duration) *recordingServer {
	s := &recordingServer{latency: latency}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *recordingServer) serve(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	s.mu.Lock()
	s.bodies = append(s.bodies, body)
	s.inFlight++
	s.maxSeen = max(s.maxSeen, s.inFlight)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()
	time.Sleep(s.latency)
	msgs, _ := body["messages"].([]any)
	user := ""
	for _, m := range msgs {
		if mm, _ := m.(map[string]any); mm["role"] == "user" {
			user, _ = mm["content"].(string)
		}
	}
	n := 1
	if v, ok := body["n"].(float64); ok {
		n = int(v)
	}
	if s.reject != "" && strings.Contains(user, s.reject) {
		http.Error(w, `{"error": "bad request"}`, 400)
		return
	}
	var choices []map[string]any
	if body["logprobs"] == true {
		tok := func(s string, lp float64) map[string]any {
			return map[string]any{"token": s, "logprob": lp, "top_logprobs": []any{
				map[string]any{"token": "a", "logprob": -0.3}, map[string]any{"token": "b", "logprob": -1.5}}}
		}
		c := map[string]any{"index": 0, "finish_reason": "stop", "message": map[string]any{"role": "assistant", "content": "Output (a)"},
			"logprobs": map[string]any{"content": []any{tok("Output", -0.01), tok(" (", -0.01), tok("a", -0.3), tok(")", -0.01)}}}
		if body["continue_final_message"] == true {
			c["message"] = map[string]any{"role": "assistant", "content": "a"}
			c["logprobs"] = map[string]any{"content": []any{tok("a", -0.3)}}
		}
		choices = append(choices, c)
	} else {
		for i := range n {
			choices = append(choices, map[string]any{"index": i, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": fmt.Sprintf("answer %d", i)}})
		}
	}
	json.NewEncoder(w).Encode(map[string]any{"id": "x", "model": "m", "choices": choices,
		"usage": map[string]any{"prompt_tokens": 1, "completion_tokens": 1}})
}

// take returns the bodies seen so far and forgets them.
func (s *recordingServer) take() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bodies
	s.bodies = nil
	return b
}

// TestEndpointJudgeSettings checks that a score stage's top_logprobs and
// mode reach an endpoint judge: logprobs continues a prefilled "Output ("
// for one token, generate lets the judge answer; both read the label's
// log-probs.
func TestEndpointJudgeSettings(t *testing.T) {
	d := newDemo(t, 2)
	srv := newRecordingServer(t, 0)
	model := fmt.Sprintf(`{ endpoint = "%s/v1", name = "judge" }`, srv.URL)
	samples := []Sample{
		{Prompt: "p1", Candidates: []TextLine{{Text: "x"}, {Text: "y"}}},
		{Prompt: "p2", Candidates: []TextLine{{Text: "u"}, {Text: "v"}}},
	}
	if err := os.MkdirAll(filepath.Join(d.dir, "smp"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSONL(filepath.Join(d.dir, "smp", SamplesFile), samples); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		mode          string
		top           int
		wantMaxTokens float64
		wantContinue  bool
	}{
		{"logprobs", 7, 1, true},
		{"generate", 3, 16, false},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			out := d.run("score", "score-"+tt.mode, fmt.Sprintf(`judge = %s
samples = "smp"
references = "train.references.jsonl"
template = "judge.txt"
mode = %q
top_logprobs = %d`, model, tt.mode, tt.top))
			bodies := srv.take()
			if len(bodies) != 4 {
				t.Fatalf("wrong number of judge requests\ngot:  %d\nwant: 4", len(bodies))
			}
			for _, b := range bodies {
				msgs := b["messages"].([]any)
				last := msgs[len(msgs)-1].(map[string]any)
				prefilled := last["role"] == "assistant" && last["content"] == "Output ("
				if b["top_logprobs"] != float64(tt.top) || b["max_tokens"] != tt.wantMaxTokens ||
					(b["continue_final_message"] == true) != tt.wantContinue || prefilled != tt.wantContinue {
					t.Errorf("wrong judge request\ngot:  top_logprobs %v, max_tokens %v, continue %v, last turn %v\nwant: %d, %v, %v",
						b["top_logprobs"], b["max_tokens"], b["continue_final_message"], last, tt.top, tt.wantMaxTokens, tt.wantContinue)
				}
				if len(msgs) < 2 || msgs[0].(map[string]any)["role"] != "system" {
					t.Errorf("the judge template's system turn was not sent as one: %v", msgs)
				}
			}
			lines, err := ReadJSONL[ScoreLine](filepath.Join(out, ScoresFile))
			if err != nil {
				t.Fatal(err)
			}
			c := lines[0].Comparisons[0]
			if c.LogprobA == nil || *c.LogprobA != -0.3 || c.LogprobB == nil || *c.LogprobB != -1.5 {
				t.Errorf("wrong verdict: %+v", c)
			}
		})
	}
}

// TestEndpointJudgeRejects checks the load-time errors for settings an
// endpoint cannot take: top_logprobs out of 1..20 anywhere, and the
// logprobs mode's prefilled turn and top_k on OpenAI's API.
func TestEndpointJudgeRejects(t *testing.T) {
	model := `{ endpoint = "http://h/v1", name = "m" }`
	hosted := `{ endpoint = "https://api.openai.com/v1", name = "gpt-4o" }`
	for _, tt := range []struct {
		kind, src, want string
	}{
		{"score", `judge = ` + model + `
samples = "s"
template = "t.txt"
top_logprobs = 0`, "Invalid top_logprobs"},
		{"score", `judge = ` + model + `
samples = "s"
template = "t.txt"
top_logprobs = 21`, "Invalid top_logprobs"},
		{"eval", `policy = "p"
prompts = "p.jsonl"
references = "r.jsonl"
judge = ` + model + `
template = "t.txt"
top_logprobs = 0`, "Invalid top_logprobs"},
		// OpenAI's API cannot continue an assistant turn, nor take top_k.
		{"score", `judge = ` + hosted + `
samples = "s"
template = "t.txt"`, "Invalid mode"},
		{"eval", `policy = "p"
prompts = "p.jsonl"
references = "r.jsonl"
judge = ` + hosted + `
template = "t.txt"
mode = "logprobs"`, "Invalid mode"},
		{"sample", `model = ` + hosted + `
prompts = "p.jsonl"
top_k = 40`, "Invalid top_k"},
		{"eval", `policy = "p"
baseline = ` + hosted + `
prompts = "p.jsonl"
references = "r.jsonl"
top_k = 40`, "Invalid top_k"},
	} {
		t.Run(tt.kind+" "+tt.src[strings.LastIndex(tt.src, "\n")+1:], func(t *testing.T) {
			_, diags := decodeKind(t, tt.kind, tt.src)
			if !diags.HasErrors() || diags[0].Summary != tt.want {
				t.Errorf("wrong diagnostics\ngot:  %v\nwant: %s", diags, tt.want)
			}
		})
	}
	// A local judge may read a label anywhere (0), and 20 is fine remotely.
	for _, src := range []string{`judge = "m"
samples = "s"
template = "t.txt"
top_logprobs = 0`, `judge = ` + model + `
samples = "s"
template = "t.txt"
top_logprobs = 20`, `judge = ` + hosted + `
samples = "s"
template = "t.txt"
mode = "generate"`} {
		if _, diags := decodeKind(t, "score", src); diags.HasErrors() {
			t.Errorf("rejected: %v\n%s", diags, src)
		}
	}
	if _, diags := decodeKind(t, "sample", "model = "+hosted+"\nprompts = \"p.jsonl\""); diags.HasErrors() {
		t.Errorf("rejected a hosted sampler without top_k: %v", diags)
	}
}

// TestEndpointSampleSettings checks that remote sampling sends top_k and
// keeps max_concurrency requests in flight: with max_concurrency = 4 and
// a server that holds each request, the handlers see 4 requests at once
// (not batch / n = 1), and never more.
func TestEndpointSampleSettings(t *testing.T) {
	d := newDemo(t, 12)
	srv := newRecordingServer(t, 50*time.Millisecond)
	out := d.run("sample", "sample", fmt.Sprintf(`model = { endpoint = "%s/v1", name = "policy", max_concurrency = 4 }
prompts = "train.prompts.jsonl"
top_k = 40`, srv.URL))
	bodies := srv.take()
	if len(bodies) != 12 {
		t.Fatalf("wrong number of requests\ngot:  %d\nwant: 12", len(bodies))
	}
	for _, b := range bodies {
		if b["top_k"] != float64(40) || b["n"] != float64(5) {
			t.Fatalf("wrong sampling request\ngot:  top_k %v, n %v\nwant: 40, 5", b["top_k"], b["n"])
		}
	}
	if srv.maxSeen != 4 {
		t.Errorf("wrong number of requests in flight at once\ngot:  %d\nwant: 4 (max_concurrency)", srv.maxSeen)
	}
	samples, err := ReadJSONL[Sample](filepath.Join(out, SamplesFile))
	if err != nil || len(samples) != 12 || len(samples[11].Candidates) != 5 {
		t.Errorf("wrong samples: %v, %d", err, len(samples))
	}
	// Without top_k the field is left out (the OpenAI API has none).
	d.run("sample", "sample-nok", fmt.Sprintf(`model = { endpoint = "%s/v1", name = "policy" }
prompts = "train.prompts.jsonl"
limit = 1`, srv.URL))
	if b := srv.take(); len(b) != 1 || b[0]["top_k"] != nil {
		t.Errorf("top_k sent when not set: %v", b)
	}
}

// TestEndpointErrorsNamePair checks that a failed judge request is
// reported by its prompt line and candidate pair, and that a 400 answer to
// a logprobs-mode request suggests the generate mode.
func TestEndpointErrorsNamePair(t *testing.T) {
	d := newDemo(t, 3)
	// Each answer takes 50ms, so the two bad requests are both in flight
	// before either fails: ChatAll reports the failures in flight and starts
	// no new request after the first.
	srv := newRecordingServer(t, 50*time.Millisecond)
	srv.reject = "Output (a): third-bad"
	samples := []Sample{
		{Prompt: "p1", Candidates: []TextLine{{Text: "x"}, {Text: "y"}}},
		{Prompt: "p2", Candidates: []TextLine{{Text: "u"}, {Text: "v"}}},
		{Prompt: "p3", Candidates: []TextLine{{Text: "ok"}, {Text: "fine"}, {Text: "third-bad"}}},
	}
	if err := os.MkdirAll(filepath.Join(d.dir, "smp"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSONL(filepath.Join(d.dir, "smp", SamplesFile), samples); err != nil {
		t.Fatal(err)
	}
	st, diags := decodeKind(t, "score", fmt.Sprintf(`judge = { endpoint = "%s/v1", name = "judge", max_retries = 0 }
samples = "smp"
references = "train.references.jsonl"
template = "judge.txt"
batch = 2`, srv.URL))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	err := st.Run(t.Context(), &engine.RunContext{Dir: d.dir, Out: t.TempDir(), Memo: newMemo()})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"prompt line 3, pair (2, 0)", "prompt line 3, pair (2, 1)", `set mode = "generate"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("wrong error\ngot:  %v\nwant: …%s…", err, want)
		}
	}
}

// TestEndpointSampleErrorNamesLine checks that a failed sampling request
// is reported by its prompt's line in the prompts file.
func TestEndpointSampleErrorNamesLine(t *testing.T) {
	d := newDemo(t, 4)
	srv := newRecordingServer(t, 0)
	prompts, err := readPrompts(d.dir, "train.prompts.jsonl", 0)
	if err != nil {
		t.Fatal(err)
	}
	srv.reject = prompts[2]
	st, diags := decodeKind(t, "sample", fmt.Sprintf(`model = { endpoint = "%s/v1", name = "policy", max_retries = 0 }
prompts = "train.prompts.jsonl"
n = 2`, srv.URL))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	err = st.Run(t.Context(), &engine.RunContext{Dir: d.dir, Out: t.TempDir(), Memo: newMemo()})
	if err == nil || !strings.Contains(err.Error(), "prompt line 3:") {
		t.Errorf("wrong error\ngot:  %v\nwant: …prompt line 3:…", err)
	}
}

// TestEndpointTypeErrorSaysValue checks that a type error in an inline
// endpoint names the setting and what was written: a fraction where a
// whole number belongs is shown as its value, not as its type "number".
func TestEndpointTypeErrorSaysValue(t *testing.T) {
	for _, tt := range []struct{ setting, want string }{
		{`max_retries = 1.5`, "In the model argument's endpoint settings, max_retries must be a whole number; it is 1.5."},
		{`max_concurrency = "lots"`, "In the model argument's endpoint settings, max_concurrency must be a whole number; it is string."},
	} {
		t.Run(tt.setting, func(t *testing.T) {
			src := `model = { endpoint = "http://h/v1", name = "m", ` + tt.setting + ` }
prompts = "p.jsonl"`
			_, diags := decodeKind(t, "sample", src)
			if !diags.HasErrors() || diags[0].Detail != tt.want {
				t.Errorf("wrong diagnostics\ngot:  %v\nwant: %s", diags, tt.want)
			}
		})
	}
}
