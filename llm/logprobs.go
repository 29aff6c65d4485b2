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
	for start := 0; start < len(seqs); start += m.maxBatch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunk := seqs[start:min(start+m.maxBatch, len(seqs))]
		toks := make([][]int, len(chunk))
		longest := 1
		for i, s := range chunk {
			toks[i] = s.Tokens
			longest = max(longest, len(s.Tokens))
		}
		seqLen := seqBucket(longest)
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
	}
	return out, nil
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
