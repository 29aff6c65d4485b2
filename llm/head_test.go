package llm

import (
	"context"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/refeval/refeval/llm/checkpoint"
)

// TestLMHeadSlices checks the lm_head cut in row slices (head.go) on a
// vocabulary large enough to be cut: the same next-token log-probs as the
// single matmul to 1e-4 (logits reach hundreds here: float32 summation
// order), greedy generation the same tokens, and a sample bit-for-bit the
// same alone and batched.
func TestLMHeadSlices(t *testing.T) {
	ctx := context.Background()
	cfg, err := checkpoint.SizedConfig("qwen2", "tiny", 40000)
	if err != nil {
		t.Fatal(err)
	}
	w := checkpoint.Random(cfg, 5)
	for _, x := range w {
		for i := range x.Data {
			x.Data[i] *= 10
		}
	}
	open := func() *Model {
		m, err := New(cfg, w, Options{MaxBatch: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { m.Close() })
		return m
	}
	sliced, whole := open(), open()
	// 4 rows × 64 hidden: slices of under 16,384 rows (in GOMAXPROCS parts), then the rest.
	total := 0
	for _, v := range sliced.head {
		d := v.Shape().Dimensions
		total += v.Shape().Size() / d[len(d)-1]
	}
	if len(sliced.head) < 3 || total != cfg.VocabSize {
		t.Fatalf("wrong lm_head slices\ngot:  %d slices, %d rows\nwant: at least 3, %d rows", len(sliced.head), total, cfg.VocabSize)
	}
	whole.head = nil
	prompts := [][]int{prompt(1, 5), prompt(2, 17), prompt(3, 9)}
	a, err := sliced.NextTokenLogProbs(ctx, prompts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := whole.NextTokenLogProbs(ctx, prompts)
	if err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for i := range a {
		for j := range a[i] {
			worst = max(worst, math.Abs(float64(a[i][j]-b[i][j])))
		}
	}
	if worst > 1e-4 {
		t.Errorf("wrong next-token log-probs with a sliced lm_head\ngot:  max |Δ| %.2g\nwant: ≤ 1e-4", worst)
	}
	reqs := []GenRequest{{Prompt: prompts[0], Item: "a"}, {Prompt: prompts[1], Item: "b"}, {Prompt: prompts[2], Item: "c"}}
	greedy := SampleParams{MaxTokens: 8, Greedy: true}
	ga, err := sliced.Generate(ctx, reqs, greedy)
	if err != nil {
		t.Fatal(err)
	}
	gb, err := whole.Generate(ctx, reqs, greedy)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ga {
		if diff := cmp.Diff(gb[i].Samples[0].Tokens, ga[i].Samples[0].Tokens); diff != "" {
			t.Errorf("prompt %d: wrong greedy tokens with a sliced lm_head (-whole +sliced):\n%s", i, diff)
		}
	}
	p := SampleParams{N: 2, MaxTokens: 8, Temperature: 1, Seed: 3}
	alone, err := sliced.Generate(ctx, reqs[1:2], p)
	if err != nil {
		t.Fatal(err)
	}
	mixed, err := sliced.Generate(ctx, reqs, p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(alone[0], mixed[1]); diff != "" {
		t.Errorf("wrong samples in a batch (-alone +batched):\n%s", diff)
	}
}
