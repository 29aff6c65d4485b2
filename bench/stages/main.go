// Command stages measures the model stage kinds on one model and backend:
// judge pairs/s in the one-forward mode (score mode = "logprobs") next to
// mode = "generate", as a ratio measured in the same run; sampling
// tokens/s; DPO pairs/s. It runs the kinds as the engine does (Decode,
// then Run) on the embedded demo data, with no memo, in a temporary folder.
//
//	GOEXPERIMENT=simd GOMLX_NO_AUTO_INSTALL=1 go run ./bench/stages [-size tiny] [-prompts 8]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/refeval/refeval/data"
	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/llm/tokenizer"
	"github.com/refeval/refeval/stages"
)

var (
	size      = flag.String("size", "tiny", "model size for the init kind: tiny, small or a parameter count")
	prompts   = flag.Int("prompts", 8, "training prompts sampled and judged")
	n         = flag.Int("n", 5, "candidates per prompt")
	maxTokens = flag.Int("max-tokens", 32, "tokens per candidate at most")
	vocab     = flag.Int("vocab", 2048, "tokenizer vocabulary")
	verbose   = flag.Bool("v", false, "print the stages' logs")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/stages:", err)
		os.Exit(1)
	}
}

type bench struct {
	dir string
}

// stage decodes src as a block of kind and runs it into dir/name.
func (b *bench) stage(kind, name, src string) (time.Duration, error) {
	k, ok := stages.Lookup(kind)
	if !ok {
		return 0, fmt.Errorf("no kind %s", kind)
	}
	f, diags := hclsyntax.ParseConfig([]byte(src), name+".hcl", hcl.InitialPos)
	if diags.HasErrors() {
		return 0, diags
	}
	st, diags := k.Decode(f.Body, &hcl.EvalContext{})
	if diags.HasErrors() {
		return 0, diags
	}
	out := filepath.Join(b.dir, name)
	if err := os.MkdirAll(out, 0o777); err != nil {
		return 0, err
	}
	var log io.Writer = io.Discard
	if *verbose {
		log = os.Stderr
	}
	start := time.Now()
	err := st.Run(context.Background(), &engine.RunContext{Addr: "stage." + kind + "." + name, Dir: b.dir, Out: out, Log: log})
	return time.Since(start), err
}

func run() error {
	dir, err := os.MkdirTemp("", "bench-stages-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for _, name := range []string{"train.prompts.jsonl", "train.references.jsonl", "corpus.txt"} {
		b, err := data.Files.ReadFile(name)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o666); err != nil {
			return err
		}
	}
	tmpl, err := os.ReadFile("prompts/refeval.txt")
	if err != nil {
		return fmt.Errorf("run from the repository root: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "refeval.txt"), tmpl, 0o666); err != nil {
		return err
	}
	b := &bench{dir: dir}
	steps := []struct{ kind, name, src string }{
		{"tokenizer", "tok", fmt.Sprintf(`files = ["corpus.txt", "refeval.txt"]
vocab = %d`, *vocab)},
		{"init", "model", fmt.Sprintf(`tokenizer = "tok"
size = %q`, *size)},
	}
	for _, s := range steps {
		if _, err := b.stage(s.kind, s.name, s.src); err != nil {
			return fmt.Errorf("%s: %w", s.kind, err)
		}
	}
	sampleTime, err := b.stage("sample", "sample", fmt.Sprintf(`model = "model"
prompts = "train.prompts.jsonl"
limit = %d
n = %d
max_tokens = %d
batch = 20`, *prompts, *n, *maxTokens))
	if err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	tok, err := tokenizer.Load(filepath.Join(dir, "tok", "tokenizer.json"))
	if err != nil {
		return err
	}
	samples, err := stages.ReadJSONL[stages.Sample](filepath.Join(dir, "sample", stages.SamplesFile))
	if err != nil {
		return err
	}
	genTokens := 0
	for _, s := range samples {
		for _, c := range s.Candidates {
			genTokens += len(tok.Encode(c.Text)) + 1
		}
	}
	pairs := len(samples) * *n * (*n - 1)
	times := map[string]time.Duration{}
	for _, mode := range []string{stages.JudgeLogprobs, stages.JudgeGenerate} {
		d, err := b.stage("score", "score-"+mode, fmt.Sprintf(`judge = "model"
samples = "sample"
references = "train.references.jsonl"
template = "refeval.txt"
top_logprobs = 0
mode = %q`, mode))
		if err != nil {
			return fmt.Errorf("score %s: %w", mode, err)
		}
		times[mode] = d
	}
	if _, err := b.stage("pairs", "pairs", `scores = "score-logprobs"
tokenizer = "model"`); err != nil {
		return err
	}
	if _, err := b.stage("logprobs", "logprobs", `model = "model"
pairs = "pairs"`); err != nil {
		return err
	}
	if _, err := b.stage("dpo", "dpo", `model = "model"
pairs = "logprobs"
beta = 0.1
lr = 1e-4
batch = 4
grad_accum = 1`); err != nil {
		return err
	}
	var dm struct {
		Examples       int     `json:"examples"`
		ExamplesPerSec float64 `json:"examples_per_sec"`
		TokensPerSec   float64 `json:"tokens_per_sec"`
	}
	raw, err := os.ReadFile(filepath.Join(dir, "dpo", stages.MetricsFile))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(raw, &dm); err != nil {
		return err
	}
	be := os.Getenv("GOMLX_BACKEND")
	if be == "" {
		be = "default (go)"
	}
	fmt.Printf("backend %s, model %s, vocabulary %d, %d prompts × %d candidates\n", be, *size, tok.VocabSize(), len(samples), *n)
	fmt.Println(strings.Repeat("-", 72))
	fmt.Printf("sampling          %8.1f tokens/s  (%d tokens, max %d each, in %v)\n", float64(genTokens)/sampleTime.Seconds(), genTokens, *maxTokens, sampleTime.Round(time.Millisecond))
	lp, gen := times[stages.JudgeLogprobs], times[stages.JudgeGenerate]
	fmt.Printf("judge logprobs    %8.2f pairs/s   (%d pairs in %v)\n", float64(pairs)/lp.Seconds(), pairs, lp.Round(time.Millisecond))
	fmt.Printf("judge generate    %8.2f pairs/s   (%d pairs in %v)\n", float64(pairs)/gen.Seconds(), pairs, gen.Round(time.Millisecond))
	fmt.Printf("one-forward speedup over generate: %.2fx\n", gen.Seconds()/lp.Seconds())
	fmt.Printf("dpo               %8.2f pairs/s   (%d pairs, %.0f tokens/s)\n", dm.ExamplesPerSec, dm.Examples, dm.TokensPerSec)
	return nil
}
