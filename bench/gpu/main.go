// Command gpu measures a backend (by default $GOMLX_BACKEND, such as
// xla:/abs/path/xla_cuda_plugin.so) against the pure-Go CPU backend on a
// Qwen2.5-0.5B-shaped model with random weights, and prints one table:
// forward parity (largest log-prob difference), one DPO step's time and
// model FLOP utilization, and sampling tokens/s. check.sh runs it.
//
//	go run ./bench/gpu -size 0.5B -peak-tflops 989
//	go run ./bench/gpu -size tiny        # seconds on a CPU: checks the program itself
//	go run ./bench/gpu -size small -vocab 2048 -pairs 2 -accum 2 -seq 100   # docs/train.md's CPU DPO step
//
// The weights are checkpoint.Random's (what `refeval model init` writes),
// held and computed in float32: refeval converts bfloat16 checkpoints to
// float32 when loading, and its graphs do not run in bfloat16.
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/refeval/refeval/llm"
	"github.com/refeval/refeval/llm/backend"
	"github.com/refeval/refeval/llm/checkpoint"
	"github.com/refeval/refeval/llm/train"
	"github.com/refeval/refeval/llm/transformer"
)

var (
	flagBackend  = flag.String("backend", "", "backend to measure (default $GOMLX_BACKEND, else the pure-Go one)")
	flagRef      = flag.String("ref", backend.Default, "reference backend of the parity check")
	flagSize     = flag.String("size", "0.5B", "0.5B (Qwen2.5-0.5B's shapes), else a checkpoint.SizedConfig size (tiny, small, 25M …) with -vocab ids")
	flagVocab    = flag.Int("vocab", 1000, "vocabulary of a size other than 0.5B")
	flagAccum    = flag.Int("accum", 1, "DPO micro-batches accumulated per step")
	flagPeak     = flag.Float64("peak-tflops", 0, "peak FLOP/s of the device in TFLOP/s, for MFU (0: no MFU column)")
	flagTol      = flag.Float64("tol", 1e-3, "largest log-prob difference the parity check accepts")
	flagPairs    = flag.Int("pairs", 8, "preference pairs per DPO micro-batch")
	flagSeqLen   = flag.Int("seq", 256, "tokens per DPO sequence (prompt + response)")
	flagSteps    = flag.Int("steps", 3, "timed DPO steps (after one warm-up step that compiles)")
	flagBatch    = flag.Int("batch", 16, "sampling: prompts decoded together")
	flagGenToks  = flag.Int("tokens", 64, "sampling: tokens generated per prompt")
	flagPrompts  = flag.Int("prompts", 4, "parity: prompts compared")
	flagSeed     = flag.Uint64("seed", 1, "seed of the weights and the token ids")
	errTolerance = fmt.Errorf("parity check failed")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/gpu:", err)
		os.Exit(1)
	}
}

// config returns the measured model's shapes.
func config() (checkpoint.Config, error) {
	switch *flagSize {
	case "0.5B":
		cfg, err := checkpoint.SizedConfig("qwen2", "tiny", 151936)
		if err != nil {
			return cfg, err
		}
		// Qwen2.5-0.5B's config.json.
		cfg.HiddenSize, cfg.IntermediateSize, cfg.NumHiddenLayers = 896, 4864, 24
		cfg.NumAttentionHeads, cfg.NumKeyValueHeads, cfg.HeadDim = 14, 2, 64
		return cfg, cfg.Validate()
	}
	return checkpoint.SizedConfig("qwen2", *flagSize, *flagVocab)
}

type result struct{ what, value, note string }

func run() error {
	cfg, err := config()
	if err != nil {
		return err
	}
	weights := checkpoint.Random(cfg, *flagSeed)
	name := backend.Config(*flagBackend)
	params := checkpoint.NumParams(cfg)
	fmt.Printf("model: Qwen2 shapes, %s: hidden %d, %d layers, vocabulary %d, %.1fM parameters, float32 (bfloat16 is not supported by refeval's graphs)\n",
		*flagSize, cfg.HiddenSize, cfg.NumHiddenLayers, cfg.VocabSize, float64(params)/1e6)
	fmt.Printf("backend: %s; reference: %s\n", name, *flagRef)
	var rows []result
	parity, err := checkParity(cfg, weights, name)
	if err != nil {
		return err
	}
	rows = append(rows, parity)
	dpo, err := dpoStep(cfg, weights, name, params)
	if err != nil {
		return err
	}
	rows = append(rows, dpo...)
	smp, err := sampling(cfg, weights, name)
	if err != nil {
		return err
	}
	rows = append(rows, smp)
	fmt.Println()
	fmt.Println("| measurement | value | notes |")
	fmt.Println("|---|---|---|")
	for _, r := range rows {
		fmt.Printf("| %s | %s | %s |\n", r.what, r.value, r.note)
	}
	if parity.note != "ok" {
		return errTolerance
	}
	return nil
}

// ids returns n token ids drawn from rng.
func ids(rng *rand.Rand, n, vocab int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = rng.IntN(vocab)
	}
	return out
}

// checkParity scores the same sequences on both backends and returns the
// largest difference of a token's log-prob.
func checkParity(cfg checkpoint.Config, weights map[string]*checkpoint.Tensor, name string) (result, error) {
	rng := rand.New(rand.NewPCG(*flagSeed, 2))
	var seqs []llm.Sequence
	for i := 0; i < *flagPrompts; i++ {
		n := 16 + 24*i
		seqs = append(seqs, llm.Sequence{Tokens: ids(rng, n, cfg.VocabSize), PromptLen: 1})
	}
	score := func(config string) ([]llm.SeqLogProbs, error) {
		m, err := llm.New(cfg, weights, llm.Options{Backend: config, MaxBatch: len(seqs)})
		if err != nil {
			return nil, err
		}
		defer m.Close()
		return m.SequenceLogProbs(context.Background(), seqs)
	}
	want, err := score(*flagRef)
	if err != nil {
		return result{}, fmt.Errorf("reference backend: %w", err)
	}
	got, err := score(name)
	if err != nil {
		return result{}, err
	}
	worst, n := 0.0, 0
	for i := range want {
		for j := range want[i].Tokens {
			worst = max(worst, math.Abs(float64(got[i].Tokens[j]-want[i].Tokens[j])))
			n++
		}
	}
	note := "ok"
	if !(worst <= *flagTol) {
		note = fmt.Sprintf("FAILED: above %g", *flagTol)
	}
	return result{"forward parity, max \\|Δ log-prob\\|", fmt.Sprintf("%.2e over %d tokens of %d prompts", worst, n, len(seqs)), note}, nil
}

// dpoStep times DPO steps of flagPairs pairs of flagSeqLen tokens each.
func dpoStep(cfg checkpoint.Config, weights map[string]*checkpoint.Tensor, name string, params int64) ([]result, error) {
	b, err := backend.New(name)
	if err != nil {
		return nil, err
	}
	defer b.Finalize()
	store := model.NewStore()
	defer store.Finalize()
	if err := transformer.LoadIntoStore(store, weights); err != nil {
		return nil, err
	}
	m := train.TransformerModel(b, store, cfg)
	rng := rand.New(rand.NewPCG(*flagSeed, 3))
	steps := 1 + *flagSteps
	prompt := *flagSeqLen / 4
	var pairs []train.PairExample
	perStep := *flagPairs * *flagAccum
	for i := 0; i < steps*perStep; i++ {
		pairs = append(pairs, train.PairExample{
			Prompt:   ids(rng, prompt, cfg.VocabSize),
			Chosen:   ids(rng, *flagSeqLen-prompt, cfg.VocabSize),
			Rejected: ids(rng, *flagSeqLen-prompt, cfg.VocabSize),
		})
	}
	var times []time.Duration
	last := time.Now()
	_, err = train.DPO(context.Background(), m, pairs, nil, train.DPOConfig{Beta: 0.1, Loop: train.Loop{LR: 1e-6, Schedule: train.ScheduleConstant, MicroBatch: *flagPairs, GradAccum: *flagAccum, Seed: *flagSeed}}, func(train.StepMetrics) {
		now := time.Now()
		times = append(times, now.Sub(last))
		last = now
	})
	if err != nil {
		return nil, err
	}
	if len(times) < 2 {
		return nil, fmt.Errorf("DPO ran %d steps, want %d", len(times), steps)
	}
	timed := times[1:]
	var sum time.Duration
	for _, t := range timed {
		sum += t
	}
	step := sum.Seconds() / float64(len(timed))
	tokens := 2 * perStep * *flagSeqLen
	// 6·N·T: forward (2) and backward (4) of every weight on every token
	// (the tied embedding counted once, as the lm_head); attention scores
	// are left out.
	flops := 6 * float64(params) * float64(tokens)
	mfu := "-"
	if *flagPeak > 0 {
		mfu = fmt.Sprintf("%.1f%%", 100*flops/step/(*flagPeak*1e12))
	}
	return []result{
		{"DPO step", fmt.Sprintf("%.3f s", step), fmt.Sprintf("%d pairs (micro-batch %d × accumulation %d) × %d tokens, mean of %d steps after a compiling one (that one: %.1f s)", perStep, *flagPairs, *flagAccum, *flagSeqLen, len(timed), times[0].Seconds())},
		{"DPO step FLOP/s, MFU", fmt.Sprintf("%.3g TFLOP/s, MFU %s", flops/step/1e12, mfu), fmt.Sprintf("6·N·T, peak %g TFLOP/s", *flagPeak)},
	}, nil
}

// sampling measures tokens/s of flagBatch prompts sampled together.
func sampling(cfg checkpoint.Config, weights map[string]*checkpoint.Tensor, name string) (result, error) {
	m, err := llm.New(cfg, weights, llm.Options{Backend: name, MaxBatch: *flagBatch})
	if err != nil {
		return result{}, err
	}
	defer m.Close()
	rng := rand.New(rand.NewPCG(*flagSeed, 4))
	var reqs []llm.GenRequest
	for i := 0; i < *flagBatch; i++ {
		reqs = append(reqs, llm.GenRequest{Prompt: ids(rng, 32, cfg.VocabSize), Item: fmt.Sprint(i)})
	}
	// No end-of-sequence id: every sample runs its full length.
	p := llm.SampleParams{MaxTokens: *flagGenToks, Temperature: 1, Seed: *flagSeed}
	if _, err := m.Generate(context.Background(), reqs, p); err != nil { // compiles
		return result{}, err
	}
	start := time.Now()
	gens, err := m.Generate(context.Background(), reqs, p)
	if err != nil {
		return result{}, err
	}
	elapsed := time.Since(start).Seconds()
	n := 0
	for _, g := range gens {
		for _, s := range g.Samples {
			n += len(s.Tokens)
		}
	}
	return result{"sampling", fmt.Sprintf("%.0f tokens/s", float64(n)/elapsed),
		fmt.Sprintf("%d prompts of 32 tokens × %d new tokens, temperature 1, prefill included", *flagBatch, *flagGenToks)}, nil
}
