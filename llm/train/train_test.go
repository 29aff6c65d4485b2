package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
)

const toyVocab = 12

// toyPairs returns n preference pairs over the toy vocabulary: the chosen
// response counts up by one from the prompt's last token, the rejected one
// by three. A bigram model can learn the preference and carry it to
// prompts it has not seen.
func toyPairs(n int, seed uint64) []PairExample {
	rng := rand.New(rand.NewPCG(seed, 2))
	out := make([]PairExample, n)
	for i := range out {
		prompt := make([]int, 2+rng.IntN(3))
		for j := range prompt {
			prompt[j] = rng.IntN(toyVocab)
		}
		last := prompt[len(prompt)-1]
		chosen := make([]int, 2+rng.IntN(3))
		rejected := make([]int, 2+rng.IntN(3))
		for j := range chosen {
			chosen[j] = (last + j + 1) % toyVocab
		}
		for j := range rejected {
			rejected[j] = (last + 3*(j+1)) % toyVocab
		}
		out[i] = PairExample{Prompt: prompt, Chosen: chosen, Rejected: rejected}
	}
	return out
}

// withReference fills in the pairs' reference log-probs from m.
func withReference(t *testing.T, m *Model, pairs []PairExample) []PairExample {
	t.Helper()
	var ex []SFTExample
	for _, p := range pairs {
		ex = append(ex, SFTExample{p.Prompt, p.Chosen}, SFTExample{p.Prompt, p.Rejected})
	}
	lp, err := responseLogProbs(context.Background(), m, ex, 8)
	if err != nil {
		t.Fatal(err)
	}
	out := append([]PairExample(nil), pairs...)
	for i := range out {
		out[i].RefChosen, out[i].RefRejected = lp[2*i], lp[2*i+1]
	}
	return out
}

func newToy(t *testing.T, seed uint64) *Model {
	t.Helper()
	m, err := bigramLM(toyVocab, 8, seed, testBackend(t))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDPORaisesHeldOutLogRatio(t *testing.T) {
	for _, loss := range []string{LossSigmoid, LossIPO, LossHinge, LossReferenceFree} {
		t.Run(loss, func(t *testing.T) {
			m := newToy(t, 1)
			train := withReference(t, m, toyPairs(32, 1))
			eval := withReference(t, m, toyPairs(8, 2))
			cfg := DPOConfig{Beta: 0.5, Loss: loss, Loop: Loop{LR: 0.05, WarmupRatio: 0.2, MicroBatch: 4, GradAccum: 2, Epochs: 3, EvalEvery: 4, MaxGradNorm: 1, Seed: 7}}
			var steps []StepMetrics
			res, err := DPO(context.Background(), m, train, eval, cfg, func(s StepMetrics) { steps = append(steps, s) })
			if err != nil {
				t.Fatal(err)
			}
			if res.Steps != 12 || len(steps) != 12 {
				t.Fatalf("wrong number of steps\ngot:  %#v (callbacks %d)\nwant: %#v", res.Steps, len(steps), 12)
			}
			before, after := res.Evals[0], res.Evals[len(res.Evals)-1]
			if !(after.LogRatio > before.LogRatio+1) {
				t.Errorf("held-out chosen-minus-rejected log-ratio did not rise\ngot:  %#v\nwant: > %#v", after.LogRatio, before.LogRatio+1)
			}
			t.Logf("held-out: loss %.4f -> %.4f, log-ratio %.3f -> %.3f, accuracy %.2f -> %.2f", before.Loss, after.Loss, before.LogRatio, after.LogRatio, before.Accuracy, after.Accuracy)
			if !(after.Loss < before.Loss) || !(after.Accuracy > 0.9) {
				t.Errorf("held-out loss and accuracy did not improve\ngot:  %#v, %#v\nwant: < %#v, > 0.9", after.Loss, after.Accuracy, before.Loss)
			}
			if steps[0].LR != 0 || steps[1].LR != cfg.LR/2 || steps[2].LR != cfg.LR {
				t.Errorf("wrong warmup (int(0.2·12) = 2 steps)\ngot:  %#v, %#v, %#v\nwant: %#v, %#v, %#v", steps[0].LR, steps[1].LR, steps[2].LR, 0.0, cfg.LR/2, cfg.LR)
			}
			if loss == LossSigmoid && (math.Abs(steps[0].Loss-math.Ln2) > 1e-6 || steps[0].Accuracy != 0) {
				// Before the first update the policy is the reference: x = 0 for every pair.
				t.Errorf("wrong first-step loss and accuracy\ngot:  %#v, %#v\nwant: %#v, %#v", steps[0].Loss, steps[0].Accuracy, math.Ln2, 0.0)
			}
			for _, s := range steps {
				if s.Tokens == 0 || !(s.TokensPerSec > 0) || math.IsNaN(s.Loss) {
					t.Fatalf("wrong step metrics\ngot:  %#v", s)
				}
			}
			if m.Store.NumVariables() != 2 {
				t.Errorf("optimizer state left in the store\ngot:  %#v variables\nwant: %#v", m.Store.NumVariables(), 2)
			}
		})
	}
}

func TestSFTLowersLoss(t *testing.T) {
	m := newToy(t, 3)
	var train, eval []SFTExample
	for _, p := range toyPairs(24, 3) {
		train = append(train, SFTExample{p.Prompt, p.Chosen})
	}
	for _, p := range toyPairs(6, 4) {
		eval = append(eval, SFTExample{p.Prompt, p.Chosen})
	}
	var steps []StepMetrics
	res, err := SFT(context.Background(), m, train, eval, SFTConfig{Loop: Loop{LR: 0.05, MicroBatch: 4, GradAccum: 1, Epochs: 4, Seed: 1, WarmupRatio: 0.1}},
		func(s StepMetrics) { steps = append(steps, s) })
	if err != nil {
		t.Fatal(err)
	}
	before, after := res.Evals[0].Loss, res.Evals[len(res.Evals)-1].Loss
	if !(after < 0.5*before) {
		t.Errorf("held-out SFT loss did not halve\ngot:  %#v\nwant: < %#v", after, 0.5*before)
	}
	if first, last := steps[0].Loss, steps[len(steps)-1].Loss; !(last < first) {
		t.Errorf("training loss did not fall\ngot:  %#v\nwant: < %#v", last, first)
	}
}

// TestDataParallelMatchesSingle trains the same model on the same global
// batches as one replica accumulating four micro-batches, as one replica
// with one large micro-batch, and as two and four replicas; all must take
// the same steps.
func TestDataParallelMatchesSingle(t *testing.T) {
	base := newToy(t, 5)
	pairs := withReference(t, base, toyPairs(14, 5)) // 14 = 3 global batches of 4 + one of 2.
	run := func(micro, accum, replicas int) (map[string][]float32, []StepMetrics) {
		m := newToy(t, 5)
		var steps []StepMetrics
		_, err := DPO(context.Background(), m, pairs, nil, DPOConfig{Beta: 0.5, Loop: Loop{LR: 0.01, WeightDecay: 0.1, MaxGradNorm: 0.5, MicroBatch: micro, GradAccum: accum, Replicas: replicas, Seed: 3}}, func(s StepMetrics) { steps = append(steps, s) })
		if err != nil {
			t.Fatal(err)
		}
		return weights(t, m), steps
	}
	want, wantSteps := run(1, 4, 1)
	tests := []struct {
		name                   string
		micro, accum, replicas int
	}{
		{"one replica, one micro-batch", 4, 1, 1},
		{"two replicas", 2, 2, 2},
		{"two replicas accumulating", 1, 4, 2},
		{"four replicas", 1, 4, 4},
		{"three replicas, uneven", 1, 4, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, steps := run(tt.micro, tt.accum, tt.replicas)
			for path, w := range want {
				if d := maxAbsDiff(got[path], w); d > 1e-5 {
					t.Errorf("wrong weights %s: max difference %g from one replica", path, d)
				}
			}
			if len(steps) != len(wantSteps) {
				t.Fatalf("wrong number of steps\ngot:  %#v\nwant: %#v", len(steps), len(wantSteps))
			}
			for i := range steps {
				g, w := steps[i], wantSteps[i]
				if math.Abs(g.GradNorm-w.GradNorm) > 1e-5*w.GradNorm || math.Abs(g.Loss-w.Loss) > 1e-5 {
					t.Errorf("wrong step %d\ngot:  loss %#v, grad norm %#v\nwant: loss %#v, grad norm %#v", i+1, g.Loss, g.GradNorm, w.Loss, w.GradNorm)
				}
			}
		})
	}
}

func TestDPODeterministic(t *testing.T) {
	base := newToy(t, 6)
	pairs := withReference(t, base, toyPairs(12, 6))
	train := func(seed uint64) map[string][]float32 {
		m := newToy(t, 6)
		if _, err := DPO(context.Background(), m, pairs, nil, DPOConfig{Beta: 0.5, Loop: Loop{LR: 0.05, MicroBatch: 2, GradAccum: 1, Seed: seed, WarmupRatio: 0.1}}, nil); err != nil {
			t.Fatal(err)
		}
		return weights(t, m)
	}
	a, b, c := train(1), train(1), train(2)
	if d := maxAbsDiff(a["/embed"], b["/embed"]); d != 0 {
		t.Errorf("same seed gave different weights: max difference %g", d)
	}
	if d := maxAbsDiff(a["/embed"], c["/embed"]); d == 0 {
		t.Errorf("another seed gave identical weights: the data order is not shuffled")
	}
}

func TestDPOKeepsBestCheckpoint(t *testing.T) {
	m := newToy(t, 8)
	train := withReference(t, m, toyPairs(16, 8))
	eval := withReference(t, m, toyPairs(6, 9))
	res, err := DPO(context.Background(), m, train, eval, DPOConfig{Beta: 0.5, Loop: Loop{LR: 0.3, Schedule: ScheduleConstant, MicroBatch: 2, EvalEvery: 1, Seed: 4, WarmupRatio: 0.1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	bestLoss, bestStep := math.Inf(1), 0
	for _, e := range res.Evals[1:] {
		if e.Loss < bestLoss {
			bestLoss, bestStep = e.Loss, e.Step
		}
	}
	if res.BestStep != bestStep || res.BestEvalLoss != bestLoss {
		t.Errorf("wrong best checkpoint\ngot:  step %#v, loss %#v\nwant: step %#v, loss %#v", res.BestStep, res.BestEvalLoss, bestStep, bestLoss)
	}
	// The store must hold the best weights: score the eval pairs again.
	now := withReference(t, m, eval)
	var sum float64
	for i, p := range now {
		x := (p.RefChosen - p.RefRejected) - (eval[i].RefChosen - eval[i].RefRejected)
		sum += math.Log1p(math.Exp(-0.5 * x))
	}
	if got := sum / float64(len(now)); math.Abs(got-bestLoss) > 1e-4 {
		t.Errorf("wrong weights left in the store: their eval loss\ngot:  %#v\nwant: %#v (step %d of %d)", got, bestLoss, bestStep, res.Steps)
	}
}

func TestDPOStopsOnDivergence(t *testing.T) {
	m := newToy(t, 9)
	pairs := withReference(t, m, toyPairs(8, 9))
	_, err := DPO(context.Background(), m, pairs, nil, DPOConfig{Beta: 1, Loop: Loop{LR: 1e38, Schedule: ScheduleConstant, MicroBatch: 1, Epochs: 4, Seed: 1, WarmupRatio: 0.1}}, nil)
	if err == nil || !strings.Contains(err.Error(), "diverged") {
		t.Fatalf("wrong error\ngot:  %v\nwant: training diverged", err)
	}
}

func TestDPORejectsBadInput(t *testing.T) {
	good := toyPairs(2, 10)
	bad := append([]PairExample(nil), good...)
	bad[1].RefChosen = math.NaN()
	tests := []struct {
		name  string
		pairs []PairExample
		cfg   DPOConfig
		want  string
	}{
		{"unknown loss", good, DPOConfig{Beta: 0.1, Loss: "kto", Loop: Loop{LR: 1e-3, WarmupRatio: 0.1}}, "unknown DPO loss"},
		{"no beta", good, DPOConfig{Loop: Loop{LR: 1e-3, WarmupRatio: 0.1}}, "beta"},
		{"no learning rate", good, DPOConfig{Beta: 0.1, Loop: Loop{WarmupRatio: 0.1}}, "learning rate"},
		{"unknown schedule", good, DPOConfig{Beta: 0.1, Loop: Loop{LR: 1e-3, Schedule: "step", WarmupRatio: 0.1}}, "schedule"},
		{"nan reference", bad, DPOConfig{Beta: 0.1, Loop: Loop{LR: 1e-3, WarmupRatio: 0.1}}, "pair 1"},
		{"no pairs", nil, DPOConfig{Beta: 0.1, Loop: Loop{LR: 1e-3, WarmupRatio: 0.1}}, "no training examples"},
		{"too long", good, DPOConfig{Beta: 0.1, Loop: Loop{LR: 1e-3, MaxSeqLen: 3, WarmupRatio: 0.1}}, "training example 0 has"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newToy(t, 10)
			_, err := DPO(context.Background(), m, tt.pairs, nil, tt.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("wrong error\ngot:  %v\nwant: containing %q", err, tt.want)
			}
		})
	}
}

func TestDPOUnusedVariableAndCancel(t *testing.T) {
	m := newToy(t, 12)
	if _, err := m.Store.CreateVariable("/unused", tensors.FromFlatDataAndDimensions([]float32{1, 2, 3, 4}, 2, 2)); err != nil {
		t.Fatal(err)
	}
	pairs := withReference(t, m, toyPairs(4, 12))
	if _, err := DPO(context.Background(), m, pairs, nil, DPOConfig{Beta: 0.5, Loop: Loop{LR: 0.01, MicroBatch: 2}}, nil); err != nil {
		t.Fatal(err)
	}
	if got := weights(t, m)["/unused"]; maxAbsDiff(got, []float32{1, 2, 3, 4}) != 0 {
		t.Errorf("wrong unused variable after training\ngot:  %#v\nwant: %#v", got, []float32{1, 2, 3, 4})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := DPO(ctx, m, pairs, nil, DPOConfig{Beta: 0.5, Loop: Loop{LR: 0.01, WarmupRatio: 0.1}}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("wrong error for a cancelled context\ngot:  %v\nwant: %v", err, context.Canceled)
	}
}

// paperDPO is RLRR's DPO configuration: global batch 64, lr 5e-7, cosine
// with warmup ratio 0.1, torch AdamW's weight decay 0.01, no clipping.
func paperDPO() DPOConfig {
	return DPOConfig{Beta: 0.01, Loop: Loop{LR: 5e-7, Schedule: ScheduleCosine, WarmupRatio: 0.1, WeightDecay: 0.01, MicroBatch: 8, GradAccum: 8, Seed: 1}}
}

// TestDPOSmallRunUpdates: 40 pairs with the paper's settings make one
// optimizer step (a global batch of 64 holds them all). Its warmup is
// int(0.1 × 1) = 0 steps, so the step runs at the full learning rate and
// the weights change (with warmup rounded up it ran at rate 0).
func TestDPOSmallRunUpdates(t *testing.T) {
	m := newToy(t, 10)
	pairs := withReference(t, m, toyPairs(40, 10))
	before := weights(t, m)
	res, err := DPO(context.Background(), m, pairs, nil, paperDPO(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 1 || res.Final.LR != 5e-7 {
		t.Errorf("wrong run\ngot:  %d steps, last lr %#v\nwant: 1 step at lr 5e-7", res.Steps, res.Final.LR)
	}
	after := weights(t, m)
	for path, w := range before {
		if d := maxAbsDiff(after[path], w); d == 0 {
			t.Errorf("%s did not change", path)
		}
	}
}

// TestTrainingRefusesNoUpdate: a run whose every step has learning rate 0
// is an error, and the weights are left as they were.
func TestTrainingRefusesNoUpdate(t *testing.T) {
	m := newToy(t, 11)
	pairs := withReference(t, m, toyPairs(40, 11))
	before := weights(t, m)
	cfg := paperDPO()
	cfg.WarmupRatio = 1 // one step, all warmup: lr 0
	_, err := DPO(context.Background(), m, pairs, nil, cfg, nil)
	if want := "every one of the 1 optimizer steps has learning rate 0"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("wrong error\ngot:  %v\nwant: …%s…", err, want)
	}
	_, err = SFT(context.Background(), m, []SFTExample{{Prompt: []int{1}, Response: []int{2}}}, nil, SFTConfig{Loop: Loop{LR: 1, WarmupRatio: 1}}, nil)
	if err == nil || !strings.Contains(err.Error(), "learning rate 0") {
		t.Errorf("wrong SFT error\ngot:  %v\nwant: …learning rate 0…", err)
	}
	after := weights(t, m)
	for path, w := range before {
		if d := maxAbsDiff(after[path], w); d != 0 {
			t.Errorf("%s changed by %g", path, d)
		}
	}
}

// TestReplicasKeepGlobalBatch: two replicas (gpus = 2) split the global
// batch the user set, so the run has the same steps as with one.
func TestReplicasKeepGlobalBatch(t *testing.T) {
	pairs := withReference(t, newToy(t, 12), toyPairs(40, 12))
	for _, replicas := range []int{1, 2} {
		cfg := paperDPO()
		cfg.LR, cfg.MicroBatch, cfg.GradAccum, cfg.Replicas = 0.01, 4, 2, replicas
		res, err := DPO(context.Background(), newToy(t, 12), pairs, nil, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Steps != 5 {
			t.Errorf("wrong steps with %d replicas\ngot:  %d\nwant: 5 (40 pairs, global batch 8)", replicas, res.Steps)
		}
	}
}
