package train

import (
	"context"
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads as math.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// SFTExample is one supervised example, tokenized: the prompt (chat
// template applied; not trained on) and the response to learn (ending with
// the end-of-turn token).
type SFTExample struct {
	Prompt, Response []int
}

// SFTConfig configures an SFT run: the Loop settings, nothing else.
type SFTConfig struct {
	Loop
}

// SFT fine-tunes m on next-token cross-entropy of the responses given the
// prompts (prompt tokens masked), averaged over the response tokens of each
// global batch, and leaves the best weights (by eval loss, or the last ones
// when eval is empty) in m.Store. onStep, if not nil, sees every step.
func SFT(ctx context.Context, m *Model, train, eval []SFTExample, cfg SFTConfig, onStep func(StepMetrics)) (*Result, error) {
	for name, set := range map[string][]SFTExample{"training": train, "eval": eval} {
		for i, e := range set {
			if len(e.Prompt) == 0 || len(e.Response) == 0 {
				return nil, fmt.Errorf("train: %s example %d has an empty prompt or response: drop it before training", name, i)
			}
		}
	}
	var ev objective
	if len(eval) > 0 {
		ev = &sftObjective{examples: eval}
	}
	return run(ctx, m, &sftObjective{examples: train}, ev, cfg.Loop.counted(), onStep)
}

type sftObjective struct {
	examples []SFTExample
}

func (o *sftObjective) size() int { return len(o.examples) }

func (o *sftObjective) seqLen(i int) int {
	return len(o.examples[i].Prompt) + len(o.examples[i].Response)
}

func (o *sftObjective) tokens(i int) int { return o.seqLen(i) }

// weights gives every response token of the global batch the same share.
func (o *sftObjective) weights(idx []int) []float64 {
	n := 0
	for _, i := range idx {
		n += len(o.examples[i].Response)
	}
	w := make([]float64, len(idx))
	for k := range w {
		w[k] = 1 / float64(n)
	}
	return w
}

func (o *sftObjective) pack(idx []int, w []float64, rows, seq int) []any {
	tokens := make([]int32, rows*seq)
	mask := make([]float32, rows*seq)
	weight := make([]float32, rows)
	lengths := make([]int32, rows)
	for k, i := range idx {
		e := o.examples[i]
		fillRow(tokens[k*seq:(k+1)*seq], mask[k*seq:(k+1)*seq], e.Prompt, e.Response)
		lengths[k] = int32(len(e.Prompt) + len(e.Response))
		weight[k] = float32(w[k])
	}
	return []any{
		tensors.FromFlatDataAndDimensions(tokens, rows, seq),
		tensors.FromFlatDataAndDimensions(mask, rows, seq),
		tensors.FromFlatDataAndDimensions(lengths, rows),
		tensors.FromFlatDataAndDimensions(weight, rows),
	}
}

func (o *sftObjective) graph(m *Model, scope *model.Scope, in []*Node) (*Node, []*Node) {
	tokens, mask, lengths, weight := in[0], in[1], in[2], in[3]
	nll := TokenCrossEntropy(m.Logits(scope, tokens, validMask(tokens, lengths)), tokens, mask)
	return ReduceAllSum(Mul(nll, weight)), []*Node{StopGradient(nll)}
}

func (o *sftObjective) add(*stats, []*tensors.Tensor, int) error { return nil }
