package train

import (
	"context"
	"testing"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/refeval/refeval/llm/checkpoint"
	"github.com/refeval/refeval/llm/transformer"
)

// tinyTransformer returns a randomly initialized Qwen2 decoder over the toy
// vocabulary.
func tinyTransformer(t *testing.T) (*Model, checkpoint.Config) {
	t.Helper()
	cfg, err := checkpoint.SizedConfig("qwen2", "tiny", toyVocab)
	if err != nil {
		t.Fatal(err)
	}
	store := model.NewStore()
	if err := transformer.LoadIntoStore(store, checkpoint.Random(cfg, 11)); err != nil {
		t.Fatal(err)
	}
	return TransformerModel(testBackend(t), store, cfg), cfg
}

func TestDPOTinyTransformer(t *testing.T) {
	m, cfg := tinyTransformer(t)
	train := withReference(t, m, toyPairs(16, 21))
	eval := withReference(t, m, toyPairs(8, 22))
	res, err := DPO(context.Background(), m, train, eval, DPOConfig{Beta: 0.5, Loop: Loop{LR: 3e-3, MicroBatch: 4, GradAccum: 1, Epochs: 3, MaxGradNorm: 1, Seed: 1, WarmupRatio: 0.1}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	before, after := res.Evals[0], res.Evals[len(res.Evals)-1]
	if !(after.LogRatio > before.LogRatio+1) || !(after.Loss < before.Loss) {
		t.Errorf("held-out log-ratio and loss did not improve\ngot:  %#v, %#v\nwant: > %#v, < %#v", after.LogRatio, after.Loss, before.LogRatio+1, before.Loss)
	}
	t.Logf("held-out: loss %.4f -> %.4f, log-ratio %.3f -> %.3f, accuracy %.2f -> %.2f", before.Loss, after.Loss, before.LogRatio, after.LogRatio, before.Accuracy, after.Accuracy)
	// The trained weights read back as a complete checkpoint.
	ts, err := transformer.StoreTensors(m.Store, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkpoint.CheckShapes(cfg, ts, "trained model"); err != nil {
		t.Fatal(err)
	}
}

func TestSFTTinyTransformer(t *testing.T) {
	m, _ := tinyTransformer(t)
	var train []SFTExample
	for _, p := range toyPairs(16, 23) {
		train = append(train, SFTExample{p.Prompt, p.Chosen})
	}
	var steps []StepMetrics
	_, err := SFT(context.Background(), m, train, nil, SFTConfig{Loop: Loop{LR: 3e-3, MicroBatch: 4, Epochs: 3, Seed: 1, WarmupRatio: 0.1}}, func(s StepMetrics) { steps = append(steps, s) })
	if err != nil {
		t.Fatal(err)
	}
	if first, last := steps[0].Loss, steps[len(steps)-1].Loss; !(last < first) {
		t.Errorf("SFT loss did not fall\ngot:  %#v\nwant: < %#v", last, first)
	}
}
