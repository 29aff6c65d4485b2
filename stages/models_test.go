package stages

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/refeval/refeval/data"
	"github.com/refeval/refeval/engine"
)

// countingMemo is an in-memory engine.Memo that counts writes.
type countingMemo struct {
	mu   sync.Mutex
	m    map[string][]byte
	puts int
}

func newMemo() *countingMemo { return &countingMemo{m: map[string][]byte{}} }

func (c *countingMemo) Get(key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return v, ok, nil
}

func (c *countingMemo) Put(key string, val []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[key] = append([]byte(nil), val...)
	c.puts++
	return nil
}

func (c *countingMemo) takePuts() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.puts
	c.puts = 0
	return n
}

// decodeKind decodes a stage block body of kind.
func decodeKind(t testing.TB, kind, src string) (engine.Stage, hcl.Diagnostics) {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), "pipeline.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	k, ok := Lookup(kind)
	if !ok {
		t.Fatalf("kind %s not registered", kind)
	}
	return k.Decode(f.Body, &hcl.EvalContext{})
}

// demo is a pipeline folder holding the first n train prompts and
// references, the first n test ones, the corpus and the judge templates.
type demo struct {
	t    testing.TB
	dir  string
	memo *countingMemo
}

func newDemo(t testing.TB, n int) *demo {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"train.prompts.jsonl", "train.references.jsonl", "test.prompts.jsonl", "test.references.jsonl", "corpus.txt"} {
		b, err := data.Files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".jsonl") {
			lines := strings.SplitAfter(string(b), "\n")
			b = []byte(strings.Join(lines[:n], ""))
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o666); err != nil {
			t.Fatal(err)
		}
	}
	// A short judge template keeps the judge's forward passes cheap.
	tmpl := "<|im_start|>system\nWhich output answers better?<|im_end|>\n<|im_start|>user\n{INSTRUCTION}\nReference: {REFERENCE}\nOutput (a): {OUTPUT_1}\nOutput (b): {OUTPUT_2}<|im_end|>\n"
	if err := os.WriteFile(filepath.Join(dir, "judge.txt"), []byte(tmpl), 0o666); err != nil {
		t.Fatal(err)
	}
	return &demo{t: t, dir: dir, memo: newMemo()}
}

// run decodes and runs one stage into a fresh folder under the demo folder
// named name, and returns that folder.
func (d *demo) run(kind, name, src string) string {
	d.t.Helper()
	st, diags := decodeKind(d.t, kind, src)
	if diags.HasErrors() {
		d.t.Fatalf("%s %s: %v", kind, name, diags)
	}
	out := filepath.Join(d.dir, name)
	os.RemoveAll(out)
	if err := os.MkdirAll(out, 0o777); err != nil {
		d.t.Fatal(err)
	}
	var log bytes.Buffer
	rc := &engine.RunContext{Addr: "stage." + kind + "." + name, Dir: d.dir, Out: out, Log: &log, Memo: d.memo}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := st.Run(ctx, rc); err != nil {
		d.t.Fatalf("%s %s: %v\nlog:\n%s", kind, name, err, log.String())
	}
	d.t.Logf("%s %s (%v): %s", kind, name, time.Since(start).Round(time.Millisecond), strings.TrimSpace(log.String()))
	return out
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// tinyPolicy trains a tokenizer and a tiny random Qwen2 on the demo folder.
func (d *demo) tinyPolicy() string {
	d.run("tokenizer", "tok", `files = ["corpus.txt"]
vocab = 320`)
	return d.run("init", "init", `tokenizer = "tok"
seed = 3`)
}

// TestModelStagesPipeline runs the model stages end to end on a handful of
// prompts, as self_improve.hcl chains them, and checks every output's shape.
func TestModelStagesPipeline(t *testing.T) {
	d := newDemo(t, 12)
	d.tinyPolicy()
	sft := d.run("sft", "sft", `model = "init"
prompts = "train.prompts.jsonl"
references = "train.references.jsonl"
lr = 3e-3
batch = 4
grad_accum = 1
epochs = 1
eval_fraction = 0.25`)
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", MetricsLinesFile, MetricsFile, LossPlotFile} {
		if _, err := os.Stat(filepath.Join(sft, f)); err != nil {
			t.Errorf("sft output lacks %s", f)
		}
	}
	var sm TrainMetrics
	readJSON(t, filepath.Join(sft, MetricsFile), &sm)
	if sm.Examples != 9 || sm.EvalExamples != 3 || sm.Steps != 3 || sm.EvalLoss == nil || sm.TokensPerSec <= 0 || sm.ExamplesPerSec <= 0 {
		t.Errorf("wrong sft metrics\ngot:  %+v\nwant: 9 examples, 3 held out, 3 steps, an eval loss, positive rates", sm)
	}

	smp := d.run("sample", "sample", `model = "sft"
prompts = "train.prompts.jsonl"
limit = 6
n = 3
max_tokens = 6`)
	samples, err := ReadJSONL[Sample](filepath.Join(smp, SamplesFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(samples) != 6 {
		t.Fatalf("wrong number of samples\ngot:  %d\nwant: %d", len(samples), 6)
	}
	for _, s := range samples {
		if len(s.Candidates) != 3 {
			t.Errorf("wrong number of candidates for %q\ngot:  %d\nwant: %d", s.Prompt, len(s.Candidates), 3)
		}
	}
	if n := d.memo.takePuts(); n != 6 {
		t.Errorf("wrong number of memoized prompts\ngot:  %d\nwant: %d", n, 6)
	}
	// Again: everything comes from the memo, and the output is the same.
	again := d.run("sample", "sample2", `model = "sft"
prompts = "train.prompts.jsonl"
limit = 6
n = 3
max_tokens = 6`)
	if n := d.memo.takePuts(); n != 0 {
		t.Errorf("a rerun sampled %d prompts; want all from the memo", n)
	}
	b1, _ := os.ReadFile(filepath.Join(smp, SamplesFile))
	b2, _ := os.ReadFile(filepath.Join(again, SamplesFile))
	if !bytes.Equal(b1, b2) {
		t.Errorf("samples from the memo differ from the first run")
	}
	// A grown prompt set costs only the new prompts.
	d.run("sample", "sample3", `model = "sft"
prompts = "train.prompts.jsonl"
limit = 8
n = 3
max_tokens = 6`)
	if n := d.memo.takePuts(); n != 2 {
		t.Errorf("growing 6 prompts to 8 sampled %d; want 2", n)
	}

	for _, mode := range []string{"logprobs", "generate"} {
		sc := d.run("score", "score-"+mode, fmt.Sprintf(`judge = "sft"
samples = "sample"
references = "train.references.jsonl"
template = "judge.txt"
top_logprobs = 0
mode = %q`, mode))
		lines, err := ReadJSONL[ScoreLine](filepath.Join(sc, ScoresFile))
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) != 6 || len(lines[0].Comparisons) != 6 || lines[0].Reference == "" {
			t.Errorf("%s: wrong scores shape: %d lines, %d comparisons in the first, reference %q", mode, len(lines), len(lines[0].Comparisons), lines[0].Reference)
		}
		for _, c := range lines[0].Comparisons {
			if c.LogprobA == nil || c.LogprobB == nil {
				t.Errorf("%s: with top_logprobs = 0 both labels have log-probs; got %+v", mode, c)
			}
		}
		if n := d.memo.takePuts(); n != 36 {
			t.Errorf("%s: wrong number of memoized verdicts\ngot:  %d\nwant: %d", mode, n, 36)
		}
	}

	// The tiny policy's candidates share no word with the references, so
	// ROUGE-L would tie them all: the pairs come from hand-made candidates.
	var fixed []Sample
	for i, s := range samples {
		ref := refsOf(t, d.dir, len(samples))[i]
		fixed = append(fixed, Sample{Prompt: s.Prompt, Candidates: []TextLine{{Text: "no"}, {Text: ref}, {Text: ref + " or so"}}})
	}
	if err := os.MkdirAll(filepath.Join(d.dir, "fixed"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSONL(filepath.Join(d.dir, "fixed", SamplesFile), fixed); err != nil {
		t.Fatal(err)
	}
	rouge := d.run("score", "score", `judge = "rouge-l"
samples = "fixed"
references = "train.references.jsonl"`)
	lines, err := ReadJSONL[ScoreLine](filepath.Join(rouge, ScoresFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := RougeScoreLine(fixed[0].Prompt, lines[0].Reference, fixed[0].Candidates); !reflect.DeepEqual(lines[0], want) {
		t.Errorf("wrong rouge-l score line\ngot:  %#v\nwant: %#v", lines[0], want)
	}
	pairsOut := d.run("pairs", "pairs", `scores = "score"
tokenizer = "sft"`)
	pairs, err := ReadJSONL[Pair](filepath.Join(pairsOut, PairsFile))
	if err != nil {
		t.Fatal(err)
	}
	lp := d.run("logprobs", "logprobs", `model = "sft"
pairs = "pairs"`)
	lps, err := ReadJSONL[LogprobPair](filepath.Join(lp, LogprobsFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(lps) != len(pairs) || len(pairs) == 0 {
		t.Fatalf("wrong number of log-prob pairs\ngot:  %d\nwant: %d (and more than 0)", len(lps), len(pairs))
	}
	for _, l := range lps {
		if !(l.ChosenLogprob < 0 && l.RejectedLogprob < 0) {
			t.Errorf("log-probs must be negative: %+v", l)
		}
	}

	dpo := d.run("dpo", "dpo", `model = "sft"
pairs = "logprobs"
beta = 0.1
lr = 1e-3
batch = 2
grad_accum = 1`)
	var dm TrainMetrics
	readJSON(t, filepath.Join(dpo, MetricsFile), &dm)
	if dm.Examples != len(pairs) || dm.Steps == 0 || dm.Beta != 0.1 || dm.Accuracy == nil ||
		dm.ReferenceSource != LogprobsFile || dm.TokensPerSec <= 0 || dm.ExamplesPerSec <= 0 {
		t.Errorf("wrong dpo metrics: %+v", dm)
	}
	steps, err := ReadJSONL[StepLine](filepath.Join(dpo, MetricsLinesFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) != dm.Steps || steps[0].Margin == nil {
		t.Errorf("wrong metrics.jsonl: %d lines for %d steps", len(steps), dm.Steps)
	}
	// The first step's loss is ln 2: the policy starts as the reference.
	if l := steps[0].Loss; l < 0.6931-1e-3 || l > 0.6931+1e-3 {
		t.Errorf("wrong first dpo loss (policy = reference)\ngot:  %v\nwant: %v", l, 0.6931)
	}

	ev := d.run("eval", "eval", `policy = "dpo"
baseline = "sft"
prompts = "test.prompts.jsonl"
references = "test.references.jsonl"
limit = 4
max_tokens = 6`)
	var em EvalMetrics
	readJSON(t, filepath.Join(ev, MetricsFile), &em)
	if em.Prompts != 4 || em.VsBaseline == nil || em.VsReference.Prompts != 4 || em.Judge != RougeJudgeName {
		t.Errorf("wrong eval metrics: %+v", em)
	}
	answers, err := ReadJSONL[EvalAnswer](filepath.Join(ev, AnswersFile))
	if err != nil || len(answers) != 4 || answers[0].Baseline == nil {
		t.Errorf("wrong answers.jsonl: %v, %d lines", err, len(answers))
	}
}

// TestDPOStageRaisesHeldOutLogRatio trains with the dpo kind on pairs whose
// chosen answer is the reference and whose rejected answer is a refusal,
// and checks that the held-out chosen-minus-rejected log-ratio rises.
func TestDPOStageRaisesHeldOutLogRatio(t *testing.T) {
	d := newDemo(t, 16)
	d.tinyPolicy()
	prompts, err := readPrompts(d.dir, "train.prompts.jsonl", 0)
	if err != nil {
		t.Fatal(err)
	}
	refs, err := readTexts(d.dir, "train.references.jsonl", len(prompts))
	if err != nil {
		t.Fatal(err)
	}
	var pairs []Pair
	for i, p := range prompts {
		pairs = append(pairs, Pair{Prompt: p, Chosen: Conversation(p, refs[i]), Rejected: Conversation(p, "I do not know.")})
	}
	if err := os.MkdirAll(filepath.Join(d.dir, "pairs"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSONL(filepath.Join(d.dir, "pairs", PairsFile), pairs); err != nil {
		t.Fatal(err)
	}
	d.run("logprobs", "logprobs", `model = "init"
pairs = "pairs"`)
	out := d.run("dpo", "dpo", `model = "init"
pairs = "logprobs"
beta = 0.1
lr = 3e-3
batch = 4
grad_accum = 1
epochs = 2
eval_fraction = 0.25
eval_every = 3`)
	var m TrainMetrics
	readJSON(t, filepath.Join(out, MetricsFile), &m)
	if m.EvalLogRatio == nil || m.EvalLogRatioBefore == nil || m.EvalExamples != 4 {
		t.Fatalf("no held-out metrics: %+v", m)
	}
	t.Logf("held-out log-ratio %.3f → %.3f, accuracy %.2f → %.2f", *m.EvalLogRatioBefore, *m.EvalLogRatio, *m.EvalAccuracyBefore, *m.EvalAccuracy)
	if *m.EvalLogRatio < *m.EvalLogRatioBefore+1 {
		t.Errorf("held-out log-ratio did not rise by 1\nbefore: %v\nafter:  %v", *m.EvalLogRatioBefore, *m.EvalLogRatio)
	}
	if *m.EvalAccuracy <= *m.EvalAccuracyBefore && *m.EvalAccuracyBefore < 1 {
		t.Errorf("held-out accuracy did not rise\nbefore: %v\nafter:  %v", *m.EvalAccuracyBefore, *m.EvalAccuracy)
	}
}

func refsOf(t *testing.T, dir string, n int) []string {
	t.Helper()
	refs, err := readTexts(dir, "train.references.jsonl", n)
	if err != nil {
		t.Fatal(err)
	}
	return refs
}

// TestDPOStageStopsOnDivergence gives DPO reference log-probs that make
// the loss infinite: the stage fails, says so, and saves no checkpoint.
func TestDPOStageStopsOnDivergence(t *testing.T) {
	d := newDemo(t, 4)
	d.tinyPolicy()
	prompts, err := readPrompts(d.dir, "train.prompts.jsonl", 0)
	if err != nil {
		t.Fatal(err)
	}
	var lps []LogprobPair
	for _, p := range prompts {
		lps = append(lps, LogprobPair{Pair: Pair{Prompt: p, Chosen: Conversation(p, "yes"), Rejected: Conversation(p, "no")},
			ChosenLogprob: 1e308, RejectedLogprob: -1e308})
	}
	if err := os.MkdirAll(filepath.Join(d.dir, "lp"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSONL(filepath.Join(d.dir, "lp", LogprobsFile), lps); err != nil {
		t.Fatal(err)
	}
	st, diags := decodeKind(t, "dpo", `model = "init"
pairs = "lp"
beta = 1
lr = 1e-3
batch = 2
grad_accum = 1`)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	out := t.TempDir()
	err = st.Run(context.Background(), &engine.RunContext{Dir: d.dir, Out: out})
	if err == nil || !strings.Contains(err.Error(), "diverged") || !strings.Contains(err.Error(), "nothing was saved") {
		t.Fatalf("wrong error\ngot:  %v\nwant: one saying training diverged and nothing was saved", err)
	}
	if _, err := os.Stat(filepath.Join(out, "model.safetensors")); err == nil {
		t.Errorf("a diverged run saved a checkpoint")
	}
}

// TestSampleShardsAcrossDevices samples with two granted devices (two
// workers, each with its own copy of the model) and gets the same file as
// with one.
func TestSampleShardsAcrossDevices(t *testing.T) {
	d := newDemo(t, 6)
	d.tinyPolicy()
	src := `model = "init"
prompts = "train.prompts.jsonl"
n = 2
max_tokens = 4
batch = 2`
	one := d.run("sample", "one", src)
	st, diags := decodeKind(t, "sample", src)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	two := t.TempDir()
	if err := st.Run(context.Background(), &engine.RunContext{Dir: d.dir, Out: two, Devices: []int{0, 1}, Memo: newMemo()}); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(one, SamplesFile))
	b, _ := os.ReadFile(filepath.Join(two, SamplesFile))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Errorf("two workers sampled differently from one\none: %s\ntwo: %s", a, b)
	}
}
