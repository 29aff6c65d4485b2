package stages

import (
	"context"
	"strings"
	"testing"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/llm/openai"
)

// TestOpenBackends checks the one switch from a model reference to its
// backend, and that a backend's usage is its own (no stage-wide state).
func TestOpenBackends(t *testing.T) {
	rc := &engine.RunContext{Dir: t.TempDir()}
	ep := ModelRef{Endpoint: &openai.Config{Endpoint: "http://127.0.0.1:1/v1", Name: "m"}}
	tests := []struct {
		name      string
		ref       ModelRef
		judge     string // the backend's id, or the start of the error
		generator string
	}{
		{"rouge-l", ModelRef{Rouge: true}, RougeJudgeName, `error: "rouge-l" judges, it cannot generate`},
		{"endpoint", ep, "openai m", "openai m"},
		{"none", ModelRef{}, "error: no judge model set", "error: no model set"},
		{"missing folder", ModelRef{Path: "nowhere"}, "error: ", "error: "},
	}
	describe := func(b modelBackend, err error) string {
		if err != nil {
			return "error: " + err.Error()
		}
		defer b.close()
		if u := b.usage(); (u != nil) != b.remote() {
			t.Errorf("%s: usage %v, remote %v: only remote backends cost anything", b.id(), u, b.remote())
		}
		return b.id()
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := openJudgeBackend(rc, tt.ref, judgeSettings{mode: JudgeLogprobs})
			if got := describe(j, err); !strings.HasPrefix(got, tt.judge) {
				t.Errorf("judge: got %q, want %q", got, tt.judge)
			}
			gens, err := openGenerators(rc, tt.ref, 1)
			var g modelBackend
			if err == nil {
				if len(gens) != 1 {
					t.Fatalf("got %d generators, want 1", len(gens))
				}
				g = gens[0]
			}
			if got := describe(g, err); !strings.HasPrefix(got, tt.generator) {
				t.Errorf("generator: got %q, want %q", got, tt.generator)
			}
		})
	}
}

// TestRougeJudgeBackend checks that the rouge-l backend gives RougeJudge's
// verdicts and that judgeAll writes no memo for it.
func TestRougeJudgeBackend(t *testing.T) {
	j, err := openJudge(&engine.RunContext{}, ModelRef{Rouge: true}, JudgeLogprobs, nil, 1, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	tasks := []judgeTask{{Reference: "the cat sat", A: "the cat sat", B: "a dog"}, {Reference: "x", A: "y", B: "x"}}
	vs, hits, err := j.judgeAll(context.Background(), &engine.RunContext{}, tasks)
	if err != nil || hits != 0 {
		t.Fatalf("judgeAll: %v, %d hits", err, hits)
	}
	for i, tk := range tasks {
		a, b := RougeJudge(tk.Reference, tk.A, tk.B)
		if LabelProb(vs[i].A, vs[i].B) != LabelProb(a, b) {
			t.Errorf("task %d: p(a) %v, want %v", i, LabelProb(vs[i].A, vs[i].B), LabelProb(a, b))
		}
	}
	if LabelProb(vs[0].A, vs[0].B) != 1 || LabelProb(vs[1].A, vs[1].B) != 0 {
		t.Errorf("wrong verdicts %+v", vs)
	}
}

func TestSumUsage(t *testing.T) {
	a := &EndpointUsage{PromptTokens: 1, CompletionTokens: 2, Requests: 3, Retries: 4, MemoHits: 5}
	tests := []struct {
		name string
		in   []*EndpointUsage
		want *EndpointUsage
	}{
		{"none", nil, nil},
		{"all local", []*EndpointUsage{nil, nil}, nil},
		{"one endpoint", []*EndpointUsage{nil, a}, a},
		{"two endpoints", []*EndpointUsage{a, nil, a}, &EndpointUsage{2, 4, 6, 8, 10}},
	}
	for _, tt := range tests {
		got := sumUsage(tt.in...)
		if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
