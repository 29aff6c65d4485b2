package train

import (
	"context"
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads as math.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// PairExample is one preference pair, tokenized: the prompt (chat template
// applied), the chosen and the rejected response tokens (each ending with
// the end-of-turn token), and the reference model's log-probs of each
// response given the prompt, summed over response tokens.
type PairExample struct {
	Prompt, Chosen, Rejected []int
	RefChosen, RefRejected   float64
}

// DPOConfig configures a DPO run: the loss, and the Loop settings.
type DPOConfig struct {
	Beta           float64 // β of the loss (paper: 0.01; required).
	Loss           string  // LossSigmoid (default), LossIPO, LossHinge or LossReferenceFree.
	LabelSmoothing float64 // ε of the sigmoid loss (default 0).
	ReferenceFree  bool    // Ignore the reference log-probs (rc = rr = 0).
	Loop
}

func (c DPOConfig) lossConfig() LossConfig {
	return LossConfig{Kind: c.Loss, Beta: c.Beta, LabelSmoothing: c.LabelSmoothing, ReferenceFree: c.ReferenceFree}
}

// DPO trains m on preference pairs with Direct Preference Optimization and
// leaves the best weights (by loss on eval, or the last ones when eval is
// empty) in m.Store. onStep, if not nil, sees every optimizer step. A NaN or
// infinite loss or gradient norm stops training with an error; the weights
// are then unusable.
func DPO(ctx context.Context, m *Model, train, eval []PairExample, cfg DPOConfig, onStep func(StepMetrics)) (*Result, error) {
	lc := cfg.lossConfig()
	if err := lc.Validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	for name, set := range map[string][]PairExample{"training": train, "eval": eval} {
		if err := checkPairs(name, set); err != nil {
			return nil, err
		}
	}
	var ev objective
	if len(eval) > 0 {
		ev = &dpoObjective{pairs: eval, loss: lc}
	}
	return run(ctx, m, &dpoObjective{pairs: train, loss: lc}, ev, cfg.Loop.counted(), onStep)
}

func checkPairs(name string, pairs []PairExample) error {
	for i, p := range pairs {
		switch {
		case len(p.Chosen) == 0 || len(p.Rejected) == 0:
			return fmt.Errorf("train: %s pair %d has an empty response: drop it before training", name, i)
		case len(p.Prompt) == 0:
			return fmt.Errorf("train: %s pair %d has an empty prompt: the first response token would have nothing to condition on", name, i)
		case math.IsNaN(p.RefChosen) || math.IsInf(p.RefChosen, 0) || math.IsNaN(p.RefRejected) || math.IsInf(p.RefRejected, 0):
			return fmt.Errorf("train: %s pair %d has reference log-probs %v, %v: recompute them (they must be finite)", name, i, p.RefChosen, p.RefRejected)
		}
	}
	return nil
}

// dpoObjective packs pairs as one batch [chosen; rejected] so that a single
// forward pass scores both responses.
type dpoObjective struct {
	pairs []PairExample
	loss  LossConfig
}

func (o *dpoObjective) size() int { return len(o.pairs) }

func (o *dpoObjective) seqLen(i int) int {
	p := o.pairs[i]
	return len(p.Prompt) + max(len(p.Chosen), len(p.Rejected))
}

func (o *dpoObjective) tokens(i int) int {
	p := o.pairs[i]
	return 2*len(p.Prompt) + len(p.Chosen) + len(p.Rejected)
}

// weights gives each pair of the global batch the same share: the loss is
// the mean over pairs, as in TRL.
func (o *dpoObjective) weights(idx []int) []float64 {
	w := make([]float64, len(idx))
	for i := range w {
		w[i] = 1 / float64(len(idx))
	}
	return w
}

func (o *dpoObjective) pack(idx []int, w []float64, rows, seq int) []any {
	tokens := make([]int32, 2*rows*seq)
	mask := make([]float32, 2*rows*seq)
	lengths := make([]int32, 2*rows)
	refC, refR, weight := make([]float32, rows), make([]float32, rows), make([]float32, rows)
	for k, i := range idx {
		p := o.pairs[i]
		fillRow(tokens[k*seq:(k+1)*seq], mask[k*seq:(k+1)*seq], p.Prompt, p.Chosen)
		fillRow(tokens[(rows+k)*seq:(rows+k+1)*seq], mask[(rows+k)*seq:(rows+k+1)*seq], p.Prompt, p.Rejected)
		lengths[k], lengths[rows+k] = int32(len(p.Prompt)+len(p.Chosen)), int32(len(p.Prompt)+len(p.Rejected))
		refC[k], refR[k], weight[k] = float32(p.RefChosen), float32(p.RefRejected), float32(w[k])
	}
	return []any{
		tensors.FromFlatDataAndDimensions(tokens, 2*rows, seq),
		tensors.FromFlatDataAndDimensions(mask, 2*rows, seq),
		tensors.FromFlatDataAndDimensions(lengths, 2*rows),
		tensors.FromFlatDataAndDimensions(refC, rows),
		tensors.FromFlatDataAndDimensions(refR, rows),
		tensors.FromFlatDataAndDimensions(weight, rows),
	}
}

// validMask returns bool [batch, seq], true on the first lengths[i]
// positions of row i.
func validMask(tokens, lengths *Node) *Node {
	pos := Iota(tokens.Graph(), shapes.Make(dtypes.Int32, tokens.Shape().Dimensions...), 1)
	return LessThan(pos, ExpandAxes(ConvertDType(lengths, dtypes.Int32), -1))
}

// fillRow writes prompt+response into a right-padded row and marks the
// response tokens in mask.
func fillRow(row []int32, mask []float32, prompt, response []int) {
	for j, t := range prompt {
		row[j] = int32(t)
	}
	for j, t := range response {
		row[len(prompt)+j] = int32(t)
		mask[len(prompt)+j] = 1
	}
}

func (o *dpoObjective) graph(m *Model, scope *model.Scope, in []*Node) (*Node, []*Node) {
	tokens, mask, lengths, refC, refR, weight := in[0], in[1], in[2], in[3], in[4], in[5]
	rows := refC.Shape().Dimensions[0]
	logps := SequenceLogProbs(m.Logits(scope, tokens, validMask(tokens, lengths)), tokens, mask)
	pc := Slice(logps, AxisRange(0, rows))
	pr := Slice(logps, AxisRange(rows, 2*rows))
	losses, rewC, rewR := PreferenceLoss(o.loss, pc, pr, refC, refR)
	loss := ReduceAllSum(Mul(losses, ConvertDType(weight, losses.DType())))
	return loss, []*Node{losses, rewC, rewR, StopGradient(Sub(pc, pr))}
}

func (o *dpoObjective) add(s *stats, outs []*tensors.Tensor, n int) error {
	var flat [3][]float32
	for i := range flat {
		var err error
		if flat[i], err = tensors.CopyFlatData[float32](outs[i+1]); err != nil {
			return fmt.Errorf("reading the implicit rewards: %w", err)
		}
	}
	rewC, rewR, ratio := flat[0], flat[1], flat[2]
	for k := range n {
		if rewC[k] > rewR[k] {
			s.correct++
		}
		s.chosen += float64(rewC[k])
		s.rejected += float64(rewR[k])
		s.logRatio += float64(ratio[k])
	}
	return nil
}
