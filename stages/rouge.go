package stages

import (
	"context"
	"strings"
)

// ROUGE-L, and the rouge-l judge built on it: a judge that needs no model,
// so that learning shows on tiny models trained for seconds.

// RougeJudgeName is the name that selects the rouge-l judge wherever a
// judge model is expected.
const RougeJudgeName = "rouge-l"

// RougeTokens splits text into ROUGE tokens the way Google's rouge-score
// package does for English without stemming: lower-case the text, turn
// every run of characters other than ASCII a–z and 0–9 into a space, and
// split on spaces. So "Don't stop!" gives [don t stop] and "café" gives
// [caf].
func RougeTokens(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !('a' <= r && r <= 'z' || '0' <= r && r <= '9')
	})
}

// RougeL returns the ROUGE-L F-measure of candidate against reference: with
// L the length of the longest common subsequence of their RougeTokens,
// precision P = L/len(candidate), recall R = L/len(reference), and
// F = 2PR/(P+R); 0 when either text has no tokens or L is 0.
func RougeL(candidate, reference string) float64 {
	c, r := RougeTokens(candidate), RougeTokens(reference)
	if len(c) == 0 || len(r) == 0 {
		return 0
	}
	l := lcsLen(c, r)
	if l == 0 {
		return 0
	}
	p := float64(l) / float64(len(c))
	rec := float64(l) / float64(len(r))
	return 2 * p * rec / (p + rec)
}

// lcsLen returns the length of the longest common subsequence of a and b,
// in O(len(a)·len(b)) time and O(len(b)) space.
func lcsLen(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := range a {
		for j := range b {
			switch {
			case a[i] == b[j]:
				cur[j+1] = prev[j] + 1
			case prev[j+1] >= cur[j]:
				cur[j+1] = prev[j+1]
			default:
				cur[j+1] = cur[j]
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// RougeJudge is the rouge-l judge's verdict on output (a) against output
// (b), given the reference, written as label log-probs so that it flows
// through LabelProb like a model judge's: when (a) has the higher ROUGE-L
// against the reference, "a" gets log-prob 0 and "b" is missing (p(a) = 1);
// when (b) has it, the reverse (p(a) = 0); on a tie both get log-prob 0
// (p(a) = 0.5).
func RougeJudge(reference, outA, outB string) (logprobA, logprobB *float64) {
	ra, rb := RougeL(outA, reference), RougeL(outB, reference)
	zero := func() *float64 { z := 0.0; return &z }
	switch {
	case ra > rb:
		return zero(), nil
	case ra < rb:
		return nil, zero()
	}
	return zero(), zero()
}

// RougeScoreLine judges every ordered pair of candidates with RougeJudge
// against the reference: the score stage's work when its judge is
// RougeJudgeName.
func RougeScoreLine(prompt, reference string, candidates []TextLine) ScoreLine {
	line := ScoreLine{Prompt: prompt, Reference: reference, Candidates: candidates, Comparisons: []Comparison{}}
	for _, p := range OrderedPairs(len(candidates)) {
		la, lb := RougeJudge(reference, candidates[p[0]].Text, candidates[p[1]].Text)
		line.Comparisons = append(line.Comparisons, NewComparison(p[0], p[1], la, lb))
	}
	return line
}

// rougeJudge is the rouge-l judge as a judge backend: no model, nothing to
// memoize.
type rougeJudge struct{}

func (rougeJudge) id() string            { return RougeJudgeName }
func (rougeJudge) remote() bool          { return false }
func (rougeJudge) usage() *EndpointUsage { return nil }
func (rougeJudge) truncated() int        { return 0 }
func (rougeJudge) close()                {}

func (rougeJudge) judge(_ context.Context, tasks []judgeTask, _ func(int)) ([]labelVerdict, error) {
	out := make([]labelVerdict, len(tasks))
	for i, t := range tasks {
		out[i].A, out[i].B = RougeJudge(t.Reference, t.A, t.B)
	}
	return out, nil
}
