package openai

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

func f(x float64) *float64 { return &x }

// tok builds a generated token with its alternatives, given as
// token, log-prob pairs.
func tok(text string, lp float64, alts ...any) TokenLogprob {
	t := TokenLogprob{Token: text, Logprob: lp}
	for i := 0; i+1 < len(alts); i += 2 {
		t.TopLogprobs = append(t.TopLogprobs, TopLogprob{Token: alts[i].(string), Logprob: alts[i+1].(float64)})
	}
	return t
}

func judged(content string, toks ...TokenLogprob) *ChatResponse {
	ch := Choice{Message: Message{Role: "assistant", Content: content}}
	if toks != nil {
		ch.Logprobs = &Logprobs{Content: toks}
	}
	return &ChatResponse{Choices: []Choice{ch}}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func TestJudgeLabels(t *testing.T) {
	for _, tc := range []struct {
		name string
		resp *ChatResponse
		want Verdict
	}{
		{
			name: "exact labels at the label position",
			resp: judged("Output (a)", tok("Output", -0.01, "Output", -0.01), tok(" (", -0.01), tok("a", -0.2, "a", -0.2, "b", -1.8, "c", -6.0), tok(")", 0)),
			want: Verdict{LogprobA: f(-0.2), LogprobB: f(-1.8), PA: sigmoid(1.6), Label: "a", Position: 2},
		},
		{
			name: "labels with a leading space",
			resp: judged("Output (b)", tok("Output", 0), tok(" (", 0), tok("b", -0.5, " b", -0.5, " a", -1.0), tok(")", 0)),
			want: Verdict{LogprobA: f(-1.0), LogprobB: f(-0.5), PA: sigmoid(-0.5), Label: "b", Position: 2},
		},
		{
			name: "parenthesis and label in one token: the first token is read",
			resp: judged("Output (a)", tok("Output", -0.2, "Output", -0.2, "b", -2.0), tok(" (a", -0.1, " (a", -0.1, " (b", -2.4, "(b", -3.0), tok(")", 0)),
			want: Verdict{LogprobB: f(-2.0), PA: 0, Label: "a", Position: 0},
		},
		{
			name: "label and parenthesis in one token: the first token is read",
			resp: judged("Output (a)", tok("Output", -0.2, "Output", -0.2, "a", -2.0), tok(" (", 0), tok("a)", -0.1, "a)", -0.1, "a", -1.0)),
			want: Verdict{LogprobA: f(-2.0), PA: 1, Label: "a", Position: 0},
		},
		{
			name: "the exact spelling wins over a likelier variant",
			resp: judged("Output (a)", tok("Output", 0), tok(" (", 0), tok("a", -2.0, " a", -0.1, "a", -2.0, "b", -3.0), tok(")", 0)),
			want: Verdict{LogprobA: f(-2.0), LogprobB: f(-3.0), PA: sigmoid(1.0), Label: "a", Position: 2},
		},
		{
			name: "the exact spelling wins over the generated variant",
			resp: judged("a", tok("(a", -0.1, "(a", -0.1, "a", -2.5, " (b", -2.6, "b", -3.5)),
			want: Verdict{LogprobA: f(-2.5), LogprobB: f(-3.5), PA: sigmoid(1.0), Position: 0},
		},
		{
			name: "the likeliest variant when no exact spelling",
			resp: judged("Output (a)", tok("Output", 0), tok(" (", 0), tok("a", -0.3, " b", -2.0, "(b", -1.5), tok(")", 0)),
			want: Verdict{LogprobA: f(-0.3), LogprobB: f(-1.5), PA: sigmoid(1.2), Label: "a", Position: 2},
		},
		{
			name: "the generated token counts when the list leaves it out",
			resp: judged("Output (b)", tok("Output", 0), tok(" (", 0), tok("b", -0.9, "a", -0.7, "x", -0.8), tok(")", 0)),
			want: Verdict{LogprobA: f(-0.7), LogprobB: f(-0.9), PA: sigmoid(0.2), Label: "b", Position: 2},
		},
		{
			name: "b missing gives 1",
			resp: judged("Output (a)", tok("Output", 0), tok(" (", 0), tok("a", -0.01, "a", -0.01, "A", -5.0, "c", -6.0), tok(")", 0)),
			want: Verdict{LogprobA: f(-0.01), PA: 1, Label: "a", Position: 2},
		},
		{
			name: "a missing gives 0",
			resp: judged("Output (b)", tok("Output", 0), tok(" (", 0), tok("b", -0.01, "B", -5.0, "a)", -6.0), tok(")", 0)),
			want: Verdict{LogprobB: f(-0.01), PA: 0, Label: "b", Position: 2},
		},
		{
			name: "both missing gives 0.5",
			resp: judged("Output (c)", tok("Output", 0), tok(" (", 0), tok("c", -0.01, "d", -5.0), tok(")", 0)),
			want: Verdict{PA: 0.5, Position: 2},
		},
		{
			name: "no pattern: the first token is read",
			resp: judged("a is better", tok("a", -0.4, "a", -0.4, "b", -1.2), tok(" is", 0), tok(" better", 0)),
			want: Verdict{LogprobA: f(-0.4), LogprobB: f(-1.2), PA: sigmoid(0.8), Position: 0},
		},
		{
			name: "label over two tokens: the first token is read",
			resp: judged("Output (ab)", tok("Output", -0.1, "Output", -0.1, "The", -3.0), tok(" (", 0), tok("a", 0), tok("b", 0), tok(")", 0)),
			want: Verdict{PA: 0.5, Position: 0},
		},
		{
			name: "answer cut before the closing parenthesis: the first token is read",
			resp: judged("Output (a", tok("Output", 0, "Output", 0.0), tok(" (", 0), tok("a", -0.1, "a", -0.1, "b", -2.0)),
			want: Verdict{PA: 0.5, Position: 0},
		},
		{
			name: "pattern after some reasoning",
			resp: judged("Both are fine. Output (b)", tok("Both", 0), tok(" are", 0), tok(" fine.", 0), tok(" Output", 0), tok(" (", 0), tok("b", -0.05, "b", -0.05, "a", -3.05), tok(")", 0)),
			want: Verdict{LogprobA: f(-3.05), LogprobB: f(-0.05), PA: sigmoid(-3), Label: "b", Position: 5},
		},
		{
			name: "impossible labels",
			resp: judged("Output (a)", tok("Output", 0), tok(" (", 0), tok("a", 0, "a", 0.0, "b", math.Inf(-1)), tok(")", 0)),
			want: Verdict{LogprobA: f(0), LogprobB: f(math.Inf(-1)), PA: 1, Label: "a", Position: 2},
		},
		{
			name: "no log-probs: text a",
			resp: judged("Reasoning… Output (a)"),
			want: Verdict{PA: 1, Label: "a", FromText: true, Position: -1},
		},
		{
			name: "no log-probs: text b",
			resp: judged("Output (b)"),
			want: Verdict{PA: 0, Label: "b", FromText: true, Position: -1},
		},
		{
			name: "no log-probs: neither",
			resp: judged("Output (c)"),
			want: Verdict{PA: 0.5, FromText: true, Position: -1},
		},
		{
			name: "empty log-probs: text",
			resp: &ChatResponse{Choices: []Choice{{Message: Message{Content: "Output (b)"}, Logprobs: &Logprobs{}}}},
			want: Verdict{PA: 0, Label: "b", FromText: true, Position: -1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := JudgeLabels(tc.resp, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !sameVerdict(got, tc.want) {
				t.Errorf("wrong verdict\ngot:  %s\nwant: %s", showVerdict(got), showVerdict(tc.want))
			}
		})
	}
}

// TestLabelPosition checks the one label-position rule of the endpoint and
// in-process judges: the label must be one token spelled exactly as the
// pattern captures it, else the first token is read.
func TestLabelPosition(t *testing.T) {
	tests := []struct {
		name string
		toks []string
		want int
	}{
		{"plain", []string{"Output", " (", "a", ")"}, 2},
		{"after text", []string{"Sure", "!", " Output (", "b", ")"}, 3},
		{"label and paren in one token", []string{"Sure", " Output (", "b)"}, 0},
		{"paren and label in one token", []string{"Output", " (a", ")"}, 0},
		{"label over two tokens", []string{"Output", " (", "a", "b", ")"}, 0},
		{"label with a space", []string{"Output", " ", "(", " a", ")"}, 0},
		{"first match counts", []string{"Output (", "x)", " Output (", "a", ")"}, 0},
		{"no label", []string{"Sure", "!"}, 0},
		{"no tokens", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LabelPosition(tt.toks); got != tt.want {
				t.Errorf("wrong label position\ngot:  %d\nwant: %d", got, tt.want)
			}
		})
	}
}

func sameVerdict(a, b Verdict) bool {
	samePtr := func(x, y *float64) bool {
		return x == nil && y == nil || x != nil && y != nil && (*x == *y || math.Abs(*x-*y) < 1e-12)
	}
	return samePtr(a.LogprobA, b.LogprobA) && samePtr(a.LogprobB, b.LogprobB) && math.Abs(a.PA-b.PA) < 1e-12 &&
		a.Label == b.Label && a.FromText == b.FromText && a.Position == b.Position
}

func showVerdict(v Verdict) string {
	p := func(x *float64) string {
		if x == nil {
			return "nil"
		}
		return fmt.Sprint(*x)
	}
	return fmt.Sprintf("la=%s lb=%s pA=%v label=%q fromText=%v pos=%d", p(v.LogprobA), p(v.LogprobB), v.PA, v.Label, v.FromText, v.Position)
}

func TestJudgeLabelsErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		resp    *ChatResponse
		choice  int
		wantErr string
	}{
		{"nil answer", nil, 0, "no answer"},
		{"choice past the end", judged("Output (a)"), 1, "choice 1 out of range; the answer has 1 choices"},
		{"negative choice", judged("Output (a)"), -1, "choice -1 out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := JudgeLabels(tc.resp, tc.choice)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("wrong error\ngot:  %v\nwant: …%s…", err, tc.wantErr)
			}
		})
	}
}

// TestJudgeThroughServer asks a vLLM-like server for a judgement with
// top_logprobs = 5, with and without log-probs in the answer.
func TestJudgeThroughServer(t *testing.T) {
	tops := map[string][]TopLogprob{
		"Output": {{Token: "Output", Logprob: -0.001}},
		" (":     {{Token: " (", Logprob: -0.001}},
		"b":      {{Token: "b", Logprob: -0.25}, {Token: "a", Logprob: -1.6}, {Token: " b", Logprob: -4}, {Token: "c", Logprob: -7}, {Token: "d", Logprob: -8}, {Token: "e", Logprob: -9}},
		")":      {{Token: ")", Logprob: -0.001}},
	}
	for _, tc := range []struct {
		name         string
		withLogprobs bool
		want         Verdict
	}{
		{"log-probs", true, Verdict{LogprobA: f(-1.6), LogprobB: f(-0.25), PA: sigmoid(-1.35), Label: "b", Position: 2}},
		{"server drops log-probs", false, Verdict{PA: 0, Label: "b", FromText: true, Position: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gotTop atomic.Int64
			s := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, req *wireRequest, call int64) {
				gotTop.Store(int64(req.TopLogprobs))
				if !tc.withLogprobs {
					req.Logprobs = false
				}
				answer(w, req, []string{"Output (b)"}, tops, [2]int64{300, 4})
			})
			c := newTestClient(t, Config{Endpoint: s.endpoint()})
			resp, err := c.Chat(context.Background(), "pair 0 vs 1", ChatRequest{Messages: userMsg("judge this"), MaxTokens: 16, Logprobs: true, TopLogprobs: 5})
			if err != nil {
				t.Fatal(err)
			}
			if gotTop.Load() != 5 {
				t.Errorf("wrong top_logprobs sent\ngot:  %d\nwant: 5", gotTop.Load())
			}
			got, err := JudgeLabels(resp, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !sameVerdict(got, tc.want) {
				t.Errorf("wrong verdict\ngot:  %s\nwant: %s", showVerdict(got), showVerdict(tc.want))
			}
		})
	}
}

// TestJudgeRequest sends both kinds of judge request to a vLLM-like server
// and reads the verdict: with prefill the label is the first generated
// token, without it the label is found in "Output (b)".
func TestJudgeRequest(t *testing.T) {
	tops := map[string][]TopLogprob{
		"b": {{Token: "b", Logprob: -0.4}, {Token: "a", Logprob: -1.3}, {Token: " b", Logprob: -5}},
	}
	prompt := []Message{{Role: "system", Content: "You are a judge."}, {Role: "user", Content: "Which output is better?"}}
	for _, tc := range []struct {
		name     string
		prefill  bool
		top      int
		wantBody string
		want     Verdict
	}{
		{
			name:     "prefill",
			prefill:  true,
			wantBody: `{"model":"Qwen2.5-72B-Instruct","messages":[{"role":"system","content":"You are a judge."},{"role":"user","content":"Which output is better?"},{"role":"assistant","content":"Output ("}],"temperature":0,"max_tokens":1,"logprobs":true,"top_logprobs":5,"add_generation_prompt":false,"continue_final_message":true}`,
			want:     Verdict{LogprobA: f(-1.3), LogprobB: f(-0.4), PA: sigmoid(-0.9), Position: 0},
		},
		{
			name:     "answer",
			top:      7,
			wantBody: `{"model":"Qwen2.5-72B-Instruct","messages":[{"role":"system","content":"You are a judge."},{"role":"user","content":"Which output is better?"}],"temperature":0,"max_tokens":16,"logprobs":true,"top_logprobs":7}`,
			want:     Verdict{LogprobA: f(-1.3), LogprobB: f(-0.4), PA: sigmoid(-0.9), Label: "b", Position: 2},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newFakeServer(t, func(w http.ResponseWriter, r *http.Request, req *wireRequest, call int64) {
				content := "Output (b)"
				if req.MaxTokens == 1 {
					content = "b"
				}
				answer(w, req, []string{content}, tops, [2]int64{500, 1})
			})
			c := newTestClient(t, Config{Endpoint: s.endpoint()})
			resp, err := c.Chat(context.Background(), "pair 0/1", JudgeRequest(prompt, tc.prefill, tc.top))
			if err != nil {
				t.Fatal(err)
			}
			if body := s.bodySeen(0); body != tc.wantBody {
				t.Errorf("wrong request body\ngot:  %s\nwant: %s", body, tc.wantBody)
			}
			got, err := JudgeLabels(resp, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !sameVerdict(got, tc.want) {
				t.Errorf("wrong verdict\ngot:  %s\nwant: %s", showVerdict(got), showVerdict(tc.want))
			}
		})
	}
	if len(prompt) != 2 {
		t.Errorf("JudgeRequest changed its argument: %d messages", len(prompt))
	}
}

func TestExtraFields(t *testing.T) {
	for _, tc := range []struct {
		name    string
		extra   map[string]any
		want    string
		wantErr string
	}{
		{"none", nil, `{"model":"m","messages":[{"role":"user","content":"q"}]}`, ""},
		{"sorted", map[string]any{"top_k": 20, "min_p": 0.05}, `{"model":"m","messages":[{"role":"user","content":"q"}],"min_p":0.05,"top_k":20}`, ""},
		{"repeats a field", map[string]any{"temperature": 1}, "", `extra field "temperature" repeats a standard field`},
		{"not JSON", map[string]any{"x": func() {}}, "", "request's extra fields: json: unsupported type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := ChatRequest{Messages: userMsg("q"), Extra: tc.extra}
			got, err := req.body("m")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("wrong error\ngot:  %v\nwant: …%s…", err, tc.wantErr)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Errorf("wrong body\ngot:  %s (%v)\nwant: %s", got, err, tc.want)
			}
		})
	}
}

func TestTakesExtensions(t *testing.T) {
	for _, tt := range []struct {
		endpoint string
		want     bool
	}{
		{"http://vllm-host:8000/v1", true},
		{"https://api.openai.com/v1", false},
		{"https://API.OpenAI.com/v1", false},
		{"https://myres.openai.azure.com/openai/v1", false},
		{"https://openai.azure.com.example.org/v1", true},
		{"http://127.0.0.1:30000/v1", true},
	} {
		if got := TakesExtensions(tt.endpoint); got != tt.want {
			t.Errorf("wrong TakesExtensions(%q)\ngot:  %v\nwant: %v", tt.endpoint, got, tt.want)
		}
	}
}
