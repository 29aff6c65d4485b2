package llm

import (
	"context"
	"fmt"

	"github.com/gomlx/gomlx/core/tensors"
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
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.tokenLogProbsExec()
	if err != nil {
		return nil, err
	}
	out := make([]SeqLogProbs, len(seqs))
	for start := 0; start < len(seqs); {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, seqLen := m.logitsChunk(len(seqs)-start, func(i int) int { return len(seqs[start+i].Tokens) })
		chunk := seqs[start : start+n]
		toks := make([][]int, len(chunk))
		for i, s := range chunk {
			toks[i] = s.Tokens
		}
		tk, mask := padded(toks, batchBucket(len(chunk), m.maxBatch), seqLen)
		res, err := e.Call(tk, mask)
		if err != nil {
			return nil, fmt.Errorf("scoring sequences: %w", err)
		}
		lp, err := tensors.CopyFlatData[float32](res[0])
		if err != nil {
			return nil, err
		}
		for i, s := range chunk {
			r := SeqLogProbs{Tokens: make([]float32, len(s.Tokens)-s.PromptLen)}
			for t := s.PromptLen; t < len(s.Tokens); t++ {
				v := lp[i*seqLen+t-1]
				r.Tokens[t-s.PromptLen] = v
				r.Sum += float64(v)
			}
			out[start+i] = r
		}
		start += n
	}
	return out, nil
}

// logitsBudget bounds batch × length × vocab of one scoring pass: the
// graph holds the [batch, seq, vocab] logits and their log-softmax, so
// 2^27 values keep it near 1 GiB (Qwen2.5's vocabulary: 8 rows of 110
// tokens, or 1 row of 880).
const logitsBudget = 1 << 27

// logitsChunk returns how many of the next left sequences (lengths given
// by length) go into one scoring pass, at most maxBatch and within
// logitsBudget (always at least one), and the bucketed length.
func (m *Model) logitsChunk(left int, length func(i int) int) (n, seqLen int) {
	longest := 0
	for n < min(left, m.maxBatch) {
		l := max(longest, length(n))
		if n > 0 && batchBucket(n+1, m.maxBatch)*seqBucket(l)*m.cfg.VocabSize > logitsBudget {
			break
		}
		longest = l
		n++
	}
	return n, seqBucket(max(longest, 1))
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
	m.mu.Lock()
	defer m.mu.Unlock()
	e, err := m.nextTokenExec()
	if err != nil {
		return nil, err
	}
	out := make([][]float32, 0, len(prefixes))
	for start := 0; start < len(prefixes); start += m.maxBatch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunk := prefixes[start:min(start+m.maxBatch, len(prefixes))]
		longest := 1
		for _, p := range chunk {
			longest = max(longest, len(p))
		}
		tk, mask := padded(chunk, batchBucket(len(chunk), m.maxBatch), seqBucket(longest))
		res, err := e.Call(tk, mask)
		if err != nil {
			return nil, fmt.Errorf("next-token log-probs: %w", err)
		}
		rows, err := rowsOf(res[0])
		if err != nil {
			return nil, err
		}
		out = append(out, rows[:len(chunk)]...)
	}
	return out, nil
}
