package stages

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/refeval/refeval/llm/openai"
)

// decodeModelAttr decodes `m = <src>` as a model reference.
func decodeModelAttr(t *testing.T, src string, judge bool) (ModelRef, hcl.Diagnostics) {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte("m = "+src+"\n"), "p.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	ectx := &hcl.EvalContext{Variables: map[string]cty.Value{
		"model": cty.ObjectVal(map[string]cty.Value{
			"local":  cty.ObjectVal(map[string]cty.Value{"path": cty.StringVal("models/qwen")}),
			"remote": cty.ObjectVal(map[string]cty.Value{"endpoint": cty.StringVal("http://host:8000/v1"), "name": cty.StringVal("big"), "timeout": cty.StringVal("90s"), "max_concurrency": cty.NumberIntVal(4)}),
			"empty":  cty.ObjectVal(map[string]cty.Value{"note": cty.StringVal("x")}),
		}),
		"stage": cty.ObjectVal(map[string]cty.Value{
			"sft": cty.ObjectVal(map[string]cty.Value{"distill": cty.ObjectVal(map[string]cty.Value{"out": cty.StringVal("/cache/out/abc")})}),
		}),
	}}
	a := newAttrs(f.Body, &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "m"}}}, ectx)
	var r ModelRef
	a.model("m", &r, judge)
	return r, a.diags
}

func TestModelRef(t *testing.T) {
	tests := []struct {
		src   string
		judge bool
		want  ModelRef
	}{
		{`"models/qwen"`, false, ModelRef{Path: "models/qwen"}},
		{`model.local`, false, ModelRef{Path: "models/qwen"}},
		{`stage.sft.distill`, false, ModelRef{Path: "/cache/out/abc"}},
		{`stage.sft.distill.out`, false, ModelRef{Path: "/cache/out/abc"}},
		{`"rouge-l"`, true, ModelRef{Rouge: true}},
		{`model.remote`, true, ModelRef{Endpoint: &openai.Config{Endpoint: "http://host:8000/v1", Name: "big", Timeout: 90 * time.Second, MaxConcurrency: 4}}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got, diags := decodeModelAttr(t, tt.src, tt.judge)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if got.Path != tt.want.Path || got.Rouge != tt.want.Rouge || (got.Endpoint == nil) != (tt.want.Endpoint == nil) ||
				(got.Endpoint != nil && *got.Endpoint != *tt.want.Endpoint) {
				t.Errorf("wrong model reference\ngot:  %#v\nwant: %#v", got, tt.want)
			}
		})
	}
}

func TestModelRefErrors(t *testing.T) {
	tests := []struct {
		src   string
		judge bool
		want  string
	}{
		{`""`, false, "it is empty"},
		{`"rouge-l"`, false, "cannot generate"},
		{`model.empty`, false, "neither path, out nor endpoint"},
		{`{ endpoint = "http://h/v1" }`, true, "non-empty endpoint and name"},
		{`{ endpoint = "http://h/v1", name = "m", timeout = "soon" }`, true, "not a duration"},
		{`3`, false, "neither path"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			_, diags := decodeModelAttr(t, tt.src, tt.judge)
			if !diags.HasErrors() || !strings.Contains(diags.Error(), tt.want) {
				t.Errorf("wrong diagnostics\ngot:  %v\nwant: one containing %q", diags, tt.want)
			}
		})
	}
}

// TestDecodeErrors checks that the kinds reject bad attributes with
// diagnostics that name them.
func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		kind, src, want string
	}{
		{"sample", `model = "m"
prompts = "p.jsonl"
temperature = -1`, "Invalid temperature"},
		{"sample", `model = "m"
prompts = "p.jsonl"
n = 1.5`, "Invalid n"},
		{"score", `judge = "m"
samples = "s"`, "Missing template"},
		{"score", `judge = "rouge-l"
samples = "s"
mode = "vibes"`, "Invalid mode"},
		{"score", `judge = "rouge-l"
samples = "s"`, "Missing references"},
		{"dpo", `model = "m"
pairs = "p"
loss = "kto"`, "Invalid loss"},
		{"dpo", `model = { endpoint = "http://h/v1", name = "x" }
pairs = "p"`, "trains a local checkpoint"},
		{"dpo", `model = "m"
pairs = "p"
eval_fraction = 1`, "Invalid eval_fraction"},
		{"dpo", `model = "m"
pairs = null`, "Invalid pairs"},
		{"logprobs", `model = { endpoint = "http://h/v1", name = "x" }
pairs = "p"`, "needs a local checkpoint"},
		{"init", `tokenizer = "t"
arch = "gpt2"`, "Invalid arch"},
		{"tokenizer", `files = []`, "Invalid files"},
		{"tokenizer", `files = ["c.txt"]
vocab = 10`, "Invalid vocab"},
		{"sft", `model = "m"
prompts = "p"
references = "r"
schedule = "step"`, "Invalid schedule"},
		{"eval", `policy = "m"
prompts = "p"
references = "r"
judge = "j"`, "Missing template"},
	}
	for _, tt := range tests {
		t.Run(tt.kind+" "+tt.want, func(t *testing.T) {
			_, diags := decodeKind(t, tt.kind, tt.src)
			if !diags.HasErrors() || !strings.Contains(diags.Error(), tt.want) {
				t.Errorf("wrong diagnostics\ngot:  %v\nwant: one containing %q", diags, tt.want)
			}
		})
	}
}

func TestTopK(t *testing.T) {
	row := []float32{0.1, 0.5, 0.5, -1, 0.9, 0.2, 0.5}
	tests := []struct {
		k    int
		want []int
	}{
		{1, []int{4}},
		{3, []int{4, 1, 2}},
		{5, []int{4, 1, 2, 6, 5}},
		{9, []int{4, 1, 2, 6, 5, 0, 3}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.k), func(t *testing.T) {
			if got := topK(row, tt.k); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("wrong top %d\ngot:  %#v\nwant: %#v", tt.k, got, tt.want)
			}
		})
	}
}

func TestHeldOut(t *testing.T) {
	tests := []struct {
		n         int
		fraction  float64
		wantEval  int
		wantTrain int
	}{
		{10, 0, 0, 10},
		{10, 0.2, 2, 8},
		{10, 0.01, 1, 9},
		{1, 0.5, 0, 1},
		{3, 0.9, 2, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n, tt.fraction), func(t *testing.T) {
			tr, ev := heldOut(tt.n, tt.fraction, 7)
			if len(ev) != tt.wantEval || len(tr) != tt.wantTrain {
				t.Errorf("wrong split\ngot:  %d train, %d held out\nwant: %d, %d", len(tr), len(ev), tt.wantTrain, tt.wantEval)
			}
			seen := map[int]bool{}
			for _, i := range append(tr, ev...) {
				seen[i] = true
			}
			if len(seen) != tt.n {
				t.Errorf("split loses or repeats items: %v %v", tr, ev)
			}
			tr2, ev2 := heldOut(tt.n, tt.fraction, 7)
			if fmt.Sprint(tr, ev) != fmt.Sprint(tr2, ev2) {
				t.Errorf("split is not deterministic")
			}
		})
	}
}

// fakeEndpoint answers chat completions like vLLM: the text "answer N:
// <question>" (or, for judge requests, "Output (a)" with top log-probs).
func fakeEndpoint(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		var req struct {
			Messages []openai.Message `json:"messages"`
			N        int              `json:"n"`
			Logprobs bool             `json:"logprobs"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		n := max(1, req.N)
		var choices []map[string]any
		for i := range n {
			c := map[string]any{"index": i, "finish_reason": "stop"}
			if req.Logprobs {
				c["message"] = map[string]any{"role": "assistant", "content": "Output (a)"}
				tok := func(s string, lp float64, top ...map[string]any) map[string]any {
					return map[string]any{"token": s, "logprob": lp, "top_logprobs": top}
				}
				alt := func(s string, lp float64) map[string]any { return map[string]any{"token": s, "logprob": lp} }
				c["logprobs"] = map[string]any{"content": []any{
					tok("Output", -0.01, alt("Output", -0.01)),
					tok(" (", -0.01, alt(" (", -0.01)),
					tok("a", -0.2, alt("a", -0.2), alt("b", -1.8)),
					tok(")", -0.01, alt(")", -0.01)),
				}}
			} else {
				c["message"] = map[string]any{"role": "assistant", "content": fmt.Sprintf("answer %d: %s", i, req.Messages[len(req.Messages)-1].Content)}
			}
			choices = append(choices, c)
		}
		json.NewEncoder(w).Encode(map[string]any{"id": "x", "model": "teacher", "choices": choices, "usage": map[string]any{"prompt_tokens": 3, "completion_tokens": 4}})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// TestEndpointStages runs the reference, sample, score and eval kinds
// against an OpenAI-compatible endpoint.
func TestEndpointStages(t *testing.T) {
	d := newDemo(t, 4)
	srv, calls := fakeEndpoint(t)
	model := fmt.Sprintf(`{ endpoint = "%s/v1", name = "teacher" }`, srv.URL)

	refs := d.run("reference", "refs", `model = `+model+`
prompts = "train.prompts.jsonl"
max_tokens = 32`)
	lines, err := ReadJSONL[TextLine](filepath.Join(refs, ReferencesFile))
	if err != nil {
		t.Fatal(err)
	}
	prompts, _ := readPrompts(d.dir, "train.prompts.jsonl", 0)
	if len(lines) != 4 || lines[1].Text != "answer 0: "+prompts[1] {
		t.Fatalf("wrong references: %#v", lines)
	}
	smp := d.run("sample", "sample", `model = `+model+`
prompts = "train.prompts.jsonl"
n = 3`)
	samples, err := ReadJSONL[Sample](filepath.Join(smp, SamplesFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 4 || len(samples[0].Candidates) != 3 || samples[0].Candidates[2].Text != "answer 2: "+prompts[0] {
		t.Fatalf("wrong samples: %#v", samples[0])
	}
	before := calls.Load()
	sc := d.run("score", "score", `judge = `+model+`
samples = "sample"
references = "refs"
template = "judge.txt"`)
	if got := calls.Load() - before; got != 4*6 {
		t.Errorf("wrong number of judge requests\ngot:  %d\nwant: %d", got, 24)
	}
	scores, err := ReadJSONL[ScoreLine](filepath.Join(sc, ScoresFile))
	if err != nil {
		t.Fatal(err)
	}
	c := scores[0].Comparisons[0]
	if c.LogprobA == nil || *c.LogprobA != -0.2 || c.LogprobB == nil || *c.LogprobB != -1.8 {
		t.Errorf("wrong comparison from the endpoint's top log-probs: %+v", c)
	}
	// Judged again: everything from the memo, no request.
	before = calls.Load()
	d.run("score", "score2", `judge = `+model+`
samples = "sample"
references = "refs"
template = "judge.txt"`)
	if got := calls.Load() - before; got != 0 {
		t.Errorf("a rerun sent %d requests; want 0", got)
	}
	os.WriteFile(filepath.Join(d.dir, "refs.jsonl"), nil, 0o666)
	ev := d.run("eval", "eval", `policy = `+model+`
prompts = "train.prompts.jsonl"
references = "refs"
judge = `+model+`
template = "judge.txt"`)
	var m EvalMetrics
	readJSON(t, filepath.Join(ev, MetricsFile), &m)
	// The fake judge always prefers output (a): one win and one loss per prompt.
	if m.Prompts != 4 || m.WinRate != 0.5 || m.VsReference.Wins != 4 || m.VsReference.Losses != 4 {
		t.Errorf("wrong eval metrics: %+v", m)
	}
}

func TestJudgeLabels(t *testing.T) {
	inf := float32(math.Inf(-1))
	row := []float32{-0.5, -1.5, inf, -3, -0.1}
	f := func(x float64) *float64 { return &x }
	tests := []struct {
		name         string
		top, a, b    int
		wantA, wantB *float64
	}{
		{"anywhere", 0, 0, 1, f(-0.5), f(-1.5)},
		{"anywhere, -Inf is missing", 0, 2, 1, nil, f(-1.5)},
		{"top 2 has a only", 2, 0, 3, f(-0.5), nil},
		{"top 3 has both", 3, 0, 1, f(-0.5), f(-1.5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := &localJudge{judgeSettings: judgeSettings{top: tt.top}, labelA: tt.a, labelB: tt.b}
			v := j.labels(row)
			str := func(p *float64) string {
				if p == nil {
					return "missing"
				}
				return fmt.Sprint(*p)
			}
			if str(v.A) != str(tt.wantA) || str(v.B) != str(tt.wantB) {
				t.Errorf("wrong labels\ngot:  a=%s b=%s\nwant: a=%s b=%s", str(v.A), str(v.B), str(tt.wantA), str(tt.wantB))
			}
		})
	}
}
