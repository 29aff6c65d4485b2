package fingerprint

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/refeval/refeval/data"
	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/stages"
)

var update = flag.Bool("update", false, "record fingerprints of new versions and changed fixtures in testdata/fingerprints.json")

const recordFile = "testdata/fingerprints.json"

// A fixture runs one stage of kind, named name, with the attributes src,
// in a folder holding the demo data and the outputs of the fixtures
// before it (which later fixtures name by their names).
type fixture struct {
	name, kind, src string
	prep            func(t *testing.T, dir string) // makes inputs no kind makes; nil: none
}

// fixtures cover every registered kind on a few prompts of the demo data
// with a tiny model: a few seconds on the CPU in all.
var fixtures = []fixture{
	{"exec", "exec", `command = ["sh", "-c", "printf 'hello\n' > $OUT/hello.txt"]`, nil},
	{"tok", "tokenizer", `files = ["corpus.txt"]
vocab = 320`, nil},
	{"init", "init", `tokenizer = "tok"
seed = 3`, nil},
	{"sft", "sft", `model = "init"
prompts = "train.prompts.jsonl"
references = "train.references.jsonl"
lr = 3e-3
batch = 4
eval_fraction = 0.25`, nil},
	// top_p = 1: the tiny model's next-token distribution is nearly
	// uniform, and which tokens make a nucleus would hang on float noise;
	// plain temperature sampling walks the vocabulary in id order.
	{"sample", "sample", `model = "sft"
prompts = "train.prompts.jsonl"
limit = 3
n = 3
top_p = 1
max_tokens = 6`, nil},
	{"reference", "reference", `model = "sft"
prompts = "train.prompts.jsonl"
limit = 2
max_tokens = 6`, nil},
	{"score", "score", `judge = "sft"
samples = "sample"
references = "train.references.jsonl"
template = "judge.txt"
top_logprobs = 0`, nil},
	{"score-generate", "score", `judge = "sft"
samples = "sample"
references = "train.references.jsonl"
template = "judge.txt"
mode = "generate"`, nil},
	// A tiny random judge scores near-identical candidates within float
	// noise of each other, so pairs gets hand-made scores with clear winners.
	{"pairs", "pairs", `scores = "scores-fixed"
tokenizer = "sft"`, fixedScores},
	{"logprobs", "logprobs", `model = "sft"
pairs = "pairs"`, nil},
	// At step 1 the policy is the reference: margins are 0 give or take
	// float noise, and DPO's accuracy counts their signs. Shifted reference
	// log-probs make every margin clearly positive.
	{"dpo", "dpo", `model = "sft"
pairs = "logprobs-shifted"
beta = 0.1
lr = 1e-3
batch = 2
grad_accum = 1`, shiftedLogprobs},
	{"eval", "eval", `policy = "dpo"
baseline = "sft"
prompts = "test.prompts.jsonl"
references = "test.references.jsonl"
limit = 2
max_tokens = 6`, nil},
	{"eval-judge", "eval", `policy = "dpo"
prompts = "test.prompts.jsonl"
references = "test.references.jsonl"
judge = "sft"
template = "judge.txt"
limit = 2
max_tokens = 6`, nil},
}

// record is what testdata/fingerprints.json holds for a fixture.
type record struct {
	Kind    string      `json:"kind"`
	Version string      `json:"version"`
	Inputs  Fingerprint `json:"inputs"`
	Output  Fingerprint `json:"output"`
}

// TestFingerprints runs every fixture and compares its fingerprints with
// the recorded ones. Output changed from the same inputs while the kind's
// Version stayed: fail, bump the Version. A new Version or changed fixture
// inputs: fail until recorded with -update.
func TestFingerprints(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every stage kind (a few seconds)")
	}
	recorded := map[string]record{}
	if b, err := os.ReadFile(recordFile); err == nil {
		if err := json.Unmarshal(b, &recorded); err != nil {
			t.Fatalf("%s: %v", recordFile, err)
		}
	} else if !*update {
		t.Fatalf("%v; record the fingerprints with go test ./stages/fingerprint -update", err)
	}
	covered := map[string]bool{}
	for _, f := range fixtures {
		covered[f.kind] = true
	}
	for _, k := range stages.Names() {
		if !covered[k] {
			t.Errorf("kind %s has no fixture: add one to fixtures in stages/fingerprint/fingerprint_test.go and record it with -update", k)
		}
	}

	dir := demoDir(t)
	changed := false
	for _, f := range fixtures {
		kind, ok := stages.Lookup(f.kind)
		if !ok {
			t.Fatalf("fixture %s: kind %s is not registered", f.name, f.kind)
		}
		if f.prep != nil {
			f.prep(t, dir)
		}
		in, out := run(t, dir, f)
		if keys := volatileKeys(t, filepath.Join(dir, f.name)); len(keys) > 0 && !kind.NonDeterministic {
			t.Errorf("fixture %s: kind %s writes %v, which change from run to run, but its engine.Kind is not NonDeterministic: REFEVAL_DEBUG=cacheverify=1 would fail on every rerun; set NonDeterministic or drop the timings", f.name, f.kind, keys)
		}
		cur := record{Kind: f.kind, Version: kind.Version, Inputs: in, Output: out}
		rec, ok := recorded[f.name]
		var problem string
		canRecord := true
		switch {
		case !ok:
			problem = "has no recorded fingerprint"
		case rec.Kind != cur.Kind:
			problem = fmt.Sprintf("was recorded for kind %s", rec.Kind)
		case rec.Version != cur.Version:
			problem = fmt.Sprintf("was recorded for %s version %s, and the version is now %s", f.kind, rec.Version, cur.Version)
		case rec.Inputs.Diff(cur.Inputs) != "":
			problem = fmt.Sprintf("has other inputs than when it was recorded (%s): an upstream kind, the fixture or the demo data changed; if kind %s's own output changed as well, bump its Version first",
				rec.Inputs.Diff(cur.Inputs), f.kind)
		case rec.Output.Diff(cur.Output) != "":
			canRecord = false
			t.Errorf("fixture %s: the output of kind %s changed (%s) from the same inputs, but its Version is still %q: bump the Version of kind %s (its engine.Kind in stages/) so that cached results of the old code are not reused, then record the new fingerprint with go test ./stages/fingerprint -update",
				f.name, f.kind, rec.Output.Diff(cur.Output), cur.Version, f.kind)
		}
		if problem == "" || !canRecord {
			continue
		}
		if *update {
			recorded[f.name] = cur
			changed = true
			t.Logf("fixture %s: recorded (%s)", f.name, problem)
			continue
		}
		t.Errorf("fixture %s %s: record it with go test ./stages/fingerprint -update", f.name, problem)
	}
	for name := range recorded {
		if !hasFixture(name) {
			if *update {
				delete(recorded, name)
				changed = true
			} else {
				t.Errorf("fixture %s is recorded but no longer exists: drop it with -update", name)
			}
		}
	}
	if changed {
		b, err := json.MarshalIndent(recorded, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(recordFile, append(b, '\n'), 0o666); err != nil {
			t.Fatal(err)
		}
	}
}

func hasFixture(name string) bool {
	for _, f := range fixtures {
		if f.name == name {
			return true
		}
	}
	return false
}

// volatileKeys returns the Volatile keys found in the JSON and JSON Lines
// files under dir, sorted.
func volatileKeys(t *testing.T, dir string) []string {
	t.Helper()
	found := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if Volatile[k] {
					found[k] = true
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".json") || strings.HasSuffix(path, ".jsonl")) {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		for {
			var v any
			if err := dec.Decode(&v); err != nil {
				break
			}
			walk(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// demoDir is a folder holding the first 8 lines of the demo's prompt and
// reference files, its corpus and a short judge template.
func demoDir(t *testing.T) string {
	dir := t.TempDir()
	for _, name := range []string{"train.prompts.jsonl", "train.references.jsonl", "test.prompts.jsonl", "test.references.jsonl", "corpus.txt"} {
		b, err := data.Files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, ".jsonl") {
			b = []byte(strings.Join(strings.SplitAfter(string(b), "\n")[:8], ""))
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o666); err != nil {
			t.Fatal(err)
		}
	}
	tmpl := "<|im_start|>system\nWhich output answers better?<|im_end|>\n<|im_start|>user\n{INSTRUCTION}\nReference: {REFERENCE}\nOutput (a): {OUTPUT_1}\nOutput (b): {OUTPUT_2}<|im_end|>\n"
	if err := os.WriteFile(filepath.Join(dir, "judge.txt"), []byte(tmpl), 0o666); err != nil {
		t.Fatal(err)
	}
	return dir
}

// run runs fixture f into dir/f.name and returns the fingerprints of its
// inputs (with its attributes) and of its output.
func run(t *testing.T, dir string, f fixture) (in, out Fingerprint) {
	t.Helper()
	file, diags := hclsyntax.ParseConfig([]byte(f.src), f.name+".hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	kind, _ := stages.Lookup(f.kind)
	st, diags := kind.Decode(file.Body, &hcl.EvalContext{})
	if diags.HasErrors() {
		t.Fatalf("fixture %s: %v", f.name, diags)
	}
	var inputs []string
	for _, p := range st.Inputs() {
		inputs = append(inputs, filepath.Join(dir, p))
	}
	sort.Strings(inputs)
	in, err := Of(inputs...)
	if err != nil {
		t.Fatalf("fixture %s: inputs: %v", f.name, err)
	}
	in.Digest = fmt.Sprintf("%x", sha256Sum(f.src+"\x00"+in.Digest))
	outDir := filepath.Join(dir, f.name)
	if err := os.MkdirAll(outDir, 0o777); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	rc := &engine.RunContext{Addr: "stage." + f.kind + "." + f.name, Dir: dir, Out: outDir, Log: &log}
	if err := st.Run(ctx, rc); err != nil {
		t.Fatalf("fixture %s: %v\nlog:\n%s", f.name, err, log.String())
	}
	t.Logf("fixture %s (%v)", f.name, time.Since(start).Round(time.Millisecond))
	if out, err = Of(outDir); err != nil {
		t.Fatalf("fixture %s: output: %v", f.name, err)
	}
	return in, out
}

// fixedScores writes scores-fixed/scores.jsonl: for each of 4 prompts, the
// candidates "no", the reference and the reference with words added, with
// verdicts that rank them reference > longer > "no".
func fixedScores(t *testing.T, dir string) {
	prompts := readLines[stages.PromptLine](t, filepath.Join(dir, "train.prompts.jsonl"))
	refs := readLines[stages.TextLine](t, filepath.Join(dir, "train.references.jsonl"))
	lp := func(v float64) *float64 { return &v }
	var lines []stages.ScoreLine
	for i := range 4 {
		ref := refs[i].Text
		line := stages.ScoreLine{Prompt: prompts[i].Prompt, Reference: ref,
			Candidates: []stages.TextLine{{Text: "no"}, {Text: ref}, {Text: ref + " or so"}}}
		rank := []float64{0, 2, 1}
		for _, p := range stages.OrderedPairs(3) {
			a, b := rank[p[0]], rank[p[1]]
			line.Comparisons = append(line.Comparisons, stages.NewComparison(p[0], p[1], lp(-1-b+a), lp(-1-a+b)))
		}
		lines = append(lines, line)
	}
	writeLines(t, filepath.Join(dir, "scores-fixed", stages.ScoresFile), lines)
}

// shiftedLogprobs writes logprobs-shifted/logprobs.jsonl: the logprobs
// fixture's pairs with each rejected reference log-prob raised by 1.
func shiftedLogprobs(t *testing.T, dir string) {
	lps := readLines[stages.LogprobPair](t, filepath.Join(dir, "logprobs", stages.LogprobsFile))
	for i := range lps {
		lps[i].RejectedLogprob++
	}
	writeLines(t, filepath.Join(dir, "logprobs-shifted", stages.LogprobsFile), lps)
}

func readLines[T any](t *testing.T, path string) []T {
	t.Helper()
	v, err := stages.ReadJSONL[T](path)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func writeLines[T any](t *testing.T, path string, v []T) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := stages.WriteJSONL(path, v); err != nil {
		t.Fatal(err)
	}
}
