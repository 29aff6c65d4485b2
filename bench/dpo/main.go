// Command dpo times one DPO step of refeval's llm/train and one forward
// pass of its llm on a random Qwen2-shaped model, on the shapes bench/dpo/dpo.py
// gives PyTorch: SizedConfig("qwen2", "small", 2048) (about 25M
// parameters), 4 pairs per step as micro-batch 2 × accumulation 2, each
// sequence 48 prompt + 80 response tokens (128, no padding), AdamW
// (β 0.9/0.999, ε 1e-8, weight decay 0.01), sigmoid loss with β 0.1, the
// micro-batches on two replicas as a dpo stage on CPU runs them.
// run.sh runs it and dpo.py alternately and prints the table.
//
//	go run ./bench/dpo -config          # the model config dpo.py reads (JSON)
//	go run ./bench/dpo -steps 3         # one line per measurement: medians of wall and CPU seconds
//	go run ./bench/dpo -forward -steps 5 -cpuprofile f  # the forward alone, profiled
//
// The forward is what DPO's forward computes without gradients, as a
// logprobs stage computes it: the summed response log-probs of a step's 4
// pairs (8 sequences), llm.Model.SequenceLogProbs (on the pure-Go backend
// two passes of 4 at once; PyTorch runs one batch of 8).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/refeval/refeval/llm"
	"github.com/refeval/refeval/llm/backend"
	"github.com/refeval/refeval/llm/checkpoint"
	"github.com/refeval/refeval/llm/train"
	"github.com/refeval/refeval/llm/transformer"
	"github.com/refeval/refeval/stages"
)

// The measured shapes; dpo.py reads them from -config.
const (
	vocab      = 2048
	microBatch = 2
	accum      = 2
	promptLen  = 48
	respLen    = 80
)

var (
	flagConfig = flag.Bool("config", false, "print the model and batch shapes as JSON and exit")
	flagSteps  = flag.Int("steps", 3, "timed DPO steps and forwards, after one untimed of each (it compiles)")
	flagSeed   = flag.Uint64("seed", 1, "seed of the weights and the token ids")
	flagProf   = flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file (go tool pprof -top)")
	flagFwd    = flag.Bool("forward", false, "time the forward only (to profile it alone with -cpuprofile)")
	flagRepl   = flag.Int("replicas", stages.CPUReplicas, "data-parallel replicas splitting the step's micro-batches, each on its own goroutine (default: what a dpo stage on CPU takes)")
)

func main() {
	flag.Parse()
	if *flagProf != "" {
		f, err := os.Create(*flagProf)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench/dpo:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "bench/dpo:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := checkpoint.SizedConfig("qwen2", "small", vocab)
	if err != nil {
		return err
	}
	if *flagConfig {
		return json.NewEncoder(os.Stdout).Encode(map[string]any{
			"hidden_size": cfg.HiddenSize, "intermediate_size": cfg.IntermediateSize,
			"num_hidden_layers": cfg.NumHiddenLayers, "num_attention_heads": cfg.NumAttentionHeads,
			"num_key_value_heads": cfg.NumKeyValueHeads, "head_dim": cfg.HeadDim,
			"vocab_size": cfg.VocabSize, "rope_theta": cfg.RopeTheta, "rms_norm_eps": cfg.RMSNormEps,
			"params":      checkpoint.NumParams(cfg),
			"micro_batch": microBatch, "accum": accum, "prompt_len": promptLen, "response_len": respLen,
		})
	}
	b, err := backend.New("")
	if err != nil {
		return err
	}
	defer b.Finalize()
	store := model.NewStore()
	defer store.Finalize()
	if err := transformer.LoadIntoStore(store, checkpoint.Random(cfg, *flagSeed)); err != nil {
		return err
	}
	m := train.TransformerModel(b, store, cfg)
	rng := rand.New(rand.NewPCG(*flagSeed, 3))
	pairs := make([]train.PairExample, (1+*flagSteps)*microBatch*accum)
	for i := range pairs {
		pairs[i] = train.PairExample{
			Prompt: ids(rng, promptLen), Chosen: ids(rng, respLen), Rejected: ids(rng, respLen),
			RefChosen: -8 * respLen, RefRejected: -8 * respLen,
		}
	}
	fwd, err := forward(cfg, *flagSeed, pairs[:microBatch*accum])
	if err != nil {
		return err
	}
	if *flagFwd {
		fmt.Printf("params %d\n", checkpoint.NumParams(cfg))
		fmt.Printf("forward wall %.4f cpu %.4f\n", median(fwd[0]), median(fwd[1]))
		return nil
	}
	var wall, cpu []float64
	lastWall, lastCPU := time.Now(), cpuSeconds()
	_, err = train.DPO(context.Background(), m, pairs, nil, train.DPOConfig{Beta: 0.1, Loop: train.Loop{
		LR: 1e-6, WeightDecay: 0.01, Schedule: train.ScheduleConstant,
		MicroBatch: microBatch, GradAccum: accum, Replicas: *flagRepl, Seed: *flagSeed,
	}}, func(train.StepMetrics) {
		now, c := time.Now(), cpuSeconds()
		wall, cpu = append(wall, now.Sub(lastWall).Seconds()), append(cpu, c-lastCPU)
		lastWall, lastCPU = now, c
	})
	if err != nil {
		return err
	}
	fmt.Printf("params %d\n", checkpoint.NumParams(cfg))
	fmt.Printf("dpo_step wall %.4f cpu %.4f\n", median(wall[1:]), median(cpu[1:]))
	fmt.Printf("forward wall %.4f cpu %.4f\n", median(fwd[0]), median(fwd[1]))
	return nil
}

// forward times the summed response log-probs of pairs, chosen and
// rejected rows, as a logprobs stage computes the reference log-probs:
// llm.Model.SequenceLogProbs on the same weights, which runs its passes
// concurrently on the pure-Go backend. The first run compiles and is not
// timed.
func forward(cfg checkpoint.Config, seed uint64, pairs []train.PairExample) ([2][]float64, error) {
	m, err := llm.New(cfg, checkpoint.Random(cfg, seed), llm.Options{})
	if err != nil {
		return [2][]float64{}, err
	}
	defer m.Close()
	var seqs []llm.Sequence
	for _, p := range pairs {
		for _, resp := range [][]int{p.Chosen, p.Rejected} {
			seqs = append(seqs, llm.Sequence{Tokens: append(slices.Clone(p.Prompt), resp...), PromptLen: len(p.Prompt)})
		}
	}
	var out [2][]float64
	for i := range 1 + *flagSteps {
		w, c := time.Now(), cpuSeconds()
		if _, err := m.SequenceLogProbs(context.Background(), seqs); err != nil {
			return out, err
		}
		if i > 0 {
			out[0], out[1] = append(out[0], time.Since(w).Seconds()), append(out[1], cpuSeconds()-c)
		}
	}
	return out, nil
}

func ids(rng *rand.Rand, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = rng.IntN(vocab)
	}
	return out
}

// cpuSeconds is the user+system CPU time of this process so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
