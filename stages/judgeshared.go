package stages

import (
	"context"

	"github.com/refeval/refeval/llm"
)

// minSharedPrefix is the shortest common token prefix worth a separate
// prefill: below it the pairs go through the unshared batch.
const minSharedPrefix = 16

// nextTokenGrouped returns the next-token log-probs after each of prompts
// (token ids), where prompts with the same group string (the judge pairs of
// one instruction and reference) usually start with the same tokens: each
// group of two or more runs its longest common token prefix once
// (llm.Model.NextTokenLogProbsShared) and only the rest per pair. Taking
// the common prefix of the full tokenizations, rather than tokenizing the
// template's parts apart, keeps every prompt's tokens exactly those of its
// own text. Prompts alone in their group, or sharing fewer than
// minSharedPrefix tokens, go through one unshared batch.
func nextTokenGrouped(ctx context.Context, m *llm.Model, prompts [][]int, group []string) ([][]float32, error) {
	out := make([][]float32, len(prompts))
	var order []string
	members := map[string][]int{}
	for i, g := range group {
		if _, ok := members[g]; !ok {
			order = append(order, g)
		}
		members[g] = append(members[g], i)
	}
	var alone []int
	for _, g := range order {
		idx := members[g]
		n := sharedLen(prompts, idx)
		if len(idx) < 2 || n < minSharedPrefix {
			alone = append(alone, idx...)
			continue
		}
		suffixes := make([][]int, len(idx))
		for k, i := range idx {
			suffixes[k] = prompts[i][n:]
		}
		rows, err := m.NextTokenLogProbsShared(ctx, prompts[idx[0]][:n], suffixes)
		if err != nil {
			return nil, err
		}
		for k, i := range idx {
			out[i] = rows[k]
		}
	}
	if len(alone) > 0 {
		sub := make([][]int, len(alone))
		for k, i := range alone {
			sub[k] = prompts[i]
		}
		rows, err := m.NextTokenLogProbs(ctx, sub)
		if err != nil {
			return nil, err
		}
		for k, i := range alone {
			out[i] = rows[k]
		}
	}
	return out, nil
}

// sharedLen is the length of the longest common token prefix of the
// prompts idx, less than the shortest of them so that every prompt keeps
// at least one token of its own.
func sharedLen(prompts [][]int, idx []int) int {
	n := len(prompts[idx[0]]) - 1
	for _, i := range idx[1:] {
		p := prompts[i]
		n = min(n, len(p)-1)
		for k := 0; k < n; k++ {
			if p[k] != prompts[idx[0]][k] {
				n = k
				break
			}
		}
	}
	return max(n, 0)
}
