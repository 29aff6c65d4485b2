package llm

import (
	"context"
	"fmt"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/refeval/refeval/llm/bucket"
	"github.com/refeval/refeval/llm/transformer"
)

// NextTokenLogProbsShared returns, for each suffix, the log-softmax over
// the vocabulary of the token that would follow prefix + suffix: the same
// as NextTokenLogProbs of the concatenations up to float rounding, but the
// prefix runs through the model once and its keys and values serve every
// suffix (a judge's system text, instruction and reference are shared by
// all the pairs of one prompt).
func (m *Model) NextTokenLogProbsShared(ctx context.Context, prefix []int, suffixes [][]int) ([][]float32, error) {
	if len(prefix) == 0 {
		return nil, fmt.Errorf("shared prefix is empty; use NextTokenLogProbs")
	}
	if err := m.checkTokens("shared prefix", 0, prefix); err != nil {
		return nil, err
	}
	for i, s := range suffixes {
		if len(s) == 0 {
			return nil, fmt.Errorf("suffix %d is empty: leave at least one token out of the shared prefix", i)
		}
		if err := m.checkTokens("suffix", i, s); err != nil {
			return nil, err
		}
	}
	if len(suffixes) == 0 {
		return nil, nil
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	preLen := bucket.Seq(len(prefix))
	prefill, err := m.prefillExec(preLen)
	if err != nil {
		return nil, err
	}
	ext, err := m.extendExec()
	if err != nil {
		return nil, err
	}
	tk, mask := padded([][]int{prefix}, 1, preLen)
	res, err := prefill.Call(tk, mask)
	if err != nil {
		return nil, fmt.Errorf("next-token log-probs (shared prefix): %w", err)
	}
	defer finalize(res)
	// The passes run one at a time: two at once took the demo's judge 50%
	// more CPU time and 300 MB more memory for 8% less wall time (their
	// attention softmax over the long shared prefix contends for the
	// cores' caches; docs/llm.md).
	spans := cut(len(suffixes), len(suffixes), func(start, left int) span {
		n, sufLen := m.extendChunk(left, preLen, func(i int) int { return len(suffixes[start+i]) })
		return span{n: n, seqLen: sufLen}
	})
	out := make([][]float32, len(suffixes))
	err = inOrder(ctx, len(spans), func(k int) error {
		sp := spans[k]
		chunk := suffixes[sp.start : sp.start+sp.n]
		tk, mask := padded(chunk, bucket.Batch(len(chunk), m.maxBatch), sp.seqLen)
		args := make([]any, 0, len(res)+2)
		args = append(args, tk, mask, tensors.FromValue(int32(len(prefix))))
		for _, c := range res[1:] {
			args = append(args, c)
		}
		logits, err := ext.Call(args...)
		if err != nil {
			return fmt.Errorf("next-token log-probs (shared prefix): %w", err)
		}
		rows, err := m.nextTokenRows(logits, len(chunk))
		if err != nil {
			return err
		}
		copy(out[sp.start:], rows)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// extendChunk returns how many of the next left suffixes go into one
// forward pass after a prefix bucket of preLen positions (at most maxBatch,
// batch × heads × suffix × (prefix + suffix) attention scores within
// activationBudget, at least one) and their bucketed length.
func (m *Model) extendChunk(left, preLen int, length func(i int) int) (n, sufLen int) {
	longest := 0
	for n < min(left, m.maxBatch) {
		l := max(longest, length(n))
		s := bucket.Seq(l)
		if n > 0 && bucket.Batch(n+1, m.maxBatch)*m.cfg.NumAttentionHeads*s*(preLen+s) > activationBudget {
			break
		}
		longest = l
		n++
	}
	return n, bucket.Seq(max(longest, 1))
}

// extendExec: right-padded suffix tokens [B,S], mask [B,S], prefix length
// (Int32 scalar), the prefix cache (K of every layer, then V, each
// [1,kv,P,d]) → [B,V] logits after each row's last token.
func (m *Model) extendExec() (*model.Exec, error) {
	return m.exec("extend", func() (*model.Exec, error) {
		return model.NewExec(m.backend, m.store, func(scope *model.Scope, in []*Node) *Node {
			m.compiles.Add(1)
			w := transformer.VariableWeights(scope)
			h := m.tr.Extend(w, in[0], in[1], in[2], transformer.CacheFromNodes(in[3:]))
			return m.lmHead(w, h)
		})
	})
}
