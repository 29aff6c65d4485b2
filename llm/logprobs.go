package llm

import (
	"context"
	"fmt"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/refeval/refeval/llm/bucket"
)

// Sequence is a prompt followed by a response, as token ids.
type Sequence struct {
	Tokens    []int // Prompt then response.
	PromptLen int   // How many of Tokens are the prompt (at least 1).
}

// SeqLogProbs holds the log-probabilities of a sequence's response tokens.
type SeqLogProbs struct {
	Sum    float64   // Sum over the response tokens.
	Tokens []float32 // log p(Tokens[i] | Tokens[:i]) for i = PromptLen … len-1.
}

// SequenceLogProbs scores each sequence's response tokens given everything
// before them, one forward pass per batch, with the prompt masked out of
// the sum.
func (m *Model) SequenceLogProbs(ctx context.Context, seqs []Sequence) ([]SeqLogProbs, error) {
	for i, s := range seqs {
		if s.PromptLen < 1 || s.PromptLen > len(s.Tokens) {
			return nil, fmt.Errorf("sequence %d: prompt length %d outside [1, %d]: the first token has no log-probability", i, s.PromptLen, len(s.Tokens))
		}
		if err := m.checkTokens("sequence", i, s.Tokens); err != nil {
			return nil, err
		}
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, err := m.scoreExec()
	if err != nil {
		return nil, err
	}
	// The passes: consecutive spans of seqs, spread over the passes
	// that run at once.
	spans := cut(len(seqs), m.passRows(len(seqs)), func(start, left int) span {
		n, seqLen, respLen := m.chunk(left,
			func(i int) int { return len(seqs[start+i].Tokens) },
			func(i int) int { return len(seqs[start+i].Tokens) - seqs[start+i].PromptLen })
		return span{n: n, seqLen: seqLen, scored: respLen}
	})
	out := make([]SeqLogProbs, len(seqs))
	err = m.eachPass(ctx, len(spans), func(k int) error {
		sp := spans[k]
		chunk := seqs[sp.start : sp.start+sp.n]
		toks := make([][]int, len(chunk))
		for i, s := range chunk {
			toks[i] = s.Tokens
		}
		rows := bucket.Batch(len(chunk), m.maxBatch)
		tk, mask := padded(toks, rows, sp.seqLen)
		// Response token t (PromptLen <= t < len) is predicted at position t-1.
		respLen := sp.scored
		pos, targets := grid[int32](rows, respLen), grid[int32](rows, respLen)
		for i, s := range chunk {
			for t := s.PromptLen; t < len(s.Tokens); t++ {
				pos[i][t-s.PromptLen] = int32(t - 1)
				targets[i][t-s.PromptLen] = int32(s.Tokens[t])
			}
		}
		res, err := e.Call(tk, mask, pos, targets)
		if err != nil {
			return fmt.Errorf("scoring sequences: %w", err)
		}
		lp, err := tensors.CopyFlatData[float32](res[0])
		finalize(res)
		if err != nil {
			return err
		}
		for i, s := range chunk {
			r := SeqLogProbs{Tokens: make([]float32, len(s.Tokens)-s.PromptLen)}
			for j := range r.Tokens {
				r.Tokens[j] = lp[i*respLen+j]
				r.Sum += float64(r.Tokens[j])
			}
			out[sp.start+i] = r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// span is the items of one forward pass: n from start, padded to seqLen
// tokens, scored tokens padded to scored.
type span struct{ start, n, seqLen, scored int }

// cut cuts n items into consecutive spans, one per forward pass: size
// says how many of the next left items (at most limit) from start go into
// one pass, and their lengths.
func cut(n, limit int, size func(start, left int) span) []span {
	var spans []span
	for start := 0; start < n; {
		sp := size(start, min(n-start, limit))
		sp.start = start
		spans = append(spans, sp)
		start += sp.n
	}
	return spans
}

// activationBudget bounds the largest activations of one forward pass:
// batch × scored positions × vocab for scoring (the logits of the response
// tokens and their exponentials) and batch × heads × length² for attention
// scores. 2^27 float32 values keep each near 512 MiB (Qwen's vocabulary: 8
// responses of 110 tokens, or 1 of 880; Qwen2.5-0.5B's 14 heads: prompts in
// the 1536-token bucket go 4 rows at a time).
const activationBudget = 1 << 27

// chunk returns how many of the next left sequences (lengths given by
// length) go into one forward pass, at most maxBatch and within
// activationBudget (always at least one), their bucketed length and, when
// scored is not nil, the bucketed number of scored positions (whose
// vocab-wide logits count against the budget).
func (m *Model) chunk(left int, length, scored func(i int) int) (n, seqLen, scoredLen int) {
	cost := func(rows, seq, sc int) int {
		width := m.cfg.NumAttentionHeads * seq * seq
		if scored != nil {
			width = max(width, sc*m.cfg.VocabSize)
		}
		return bucket.Batch(rows, m.maxBatch) * width
	}
	longest, most := 0, 0
	for n < min(left, m.maxBatch) {
		l, s := max(longest, length(n)), most
		if scored != nil {
			s = max(most, scored(n))
		}
		if n > 0 && cost(n+1, bucket.Seq(l), bucket.Seq(max(s, 1))) > activationBudget {
			break
		}
		longest, most = l, s
		n++
	}
	return n, bucket.Seq(max(longest, 1)), bucket.Seq(max(most, 1))
}

// NextTokenLogProbs returns, for each prefix, the log-softmax over the
// vocabulary of the token that would follow it.
func (m *Model) NextTokenLogProbs(ctx context.Context, prefixes [][]int) ([][]float32, error) {
	for i, p := range prefixes {
		if len(p) == 0 {
			return nil, fmt.Errorf("prefix %d is empty", i)
		}
		if err := m.checkTokens("prefix", i, p); err != nil {
			return nil, err
		}
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	e, err := m.nextTokenExec()
	if err != nil {
		return nil, err
	}
	spans := cut(len(prefixes), m.passRows(len(prefixes)), func(start, left int) span {
		n, seqLen, _ := m.chunk(left, func(i int) int { return len(prefixes[start+i]) }, nil)
		return span{n: n, seqLen: seqLen}
	})
	out := make([][]float32, len(prefixes))
	err = m.eachPass(ctx, len(spans), func(k int) error {
		sp := spans[k]
		chunk := prefixes[sp.start : sp.start+sp.n]
		tk, mask := padded(chunk, bucket.Batch(len(chunk), m.maxBatch), sp.seqLen)
		res, err := e.Call(tk, mask)
		if err != nil {
			return fmt.Errorf("next-token log-probs: %w", err)
		}
		rows, err := m.nextTokenRows(res, len(chunk))
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

// nextTokenRows copies the first n rows of a next-token graph's logits
// [B,V] out of res, releases res and turns each row into log-probs.
func (m *Model) nextTokenRows(res []*tensors.Tensor, n int) ([][]float32, error) {
	rows, err := m.logitRows(res[0])
	finalize(res)
	if err != nil {
		return nil, err
	}
	for _, row := range rows[:n] {
		normalizeLogProbs(row)
	}
	return rows[:n], nil
}
