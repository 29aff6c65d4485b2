package train

import (
	"context"
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads as math.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/refeval/refeval/llm/bucket"
)

// responseLogProbs returns, for each example, log p(Response | Prompt)
// under m summed over the response tokens, computed batch examples at a
// time: the tests' reference log-probs of PairExample (pipelines get them
// from the logprobs stage, llm.Model.SequenceLogProbs).
func responseLogProbs(ctx context.Context, m *Model, examples []SFTExample, batch int) ([]float64, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if batch <= 0 {
		batch = 1
	}
	obj := &sftObjective{examples: examples}
	exec, err := model.NewExec(m.Backend, m.Store, func(scope *model.Scope, tokens, mask, lengths *Node) *Node {
		return SequenceLogProbs(m.Logits(scope, tokens, validMask(tokens, lengths)), tokens, mask)
	})
	if err != nil {
		return nil, err
	}
	defer exec.Finalize()
	out := make([]float64, 0, len(examples))
	for start := 0; start < len(examples); start += batch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		end := min(start+batch, len(examples))
		idx := make([]int, 0, end-start)
		seq := 2
		for i := start; i < end; i++ {
			if len(examples[i].Prompt) == 0 || len(examples[i].Response) == 0 {
				return nil, fmt.Errorf("train: example %d has an empty prompt or response", i)
			}
			idx = append(idx, i)
			seq = max(seq, obj.seqLen(i))
		}
		in := obj.pack(idx, make([]float64, len(idx)), batch, bucket.Seq(seq))
		res, err := exec.Exec(in[0], in[1], in[2])
		if err != nil {
			return nil, fmt.Errorf("train: scoring examples %d–%d: %w", start, end-1, err)
		}
		lp, err := tensors.CopyFlatData[float32](res[0])
		for _, t := range res {
			t.FinalizeAll()
		}
		if err != nil {
			return nil, fmt.Errorf("train: scoring examples %d–%d: %w", start, end-1, err)
		}
		for _, v := range lp[:len(idx)] {
			out = append(out, float64(v))
		}
	}
	return out, nil
}
