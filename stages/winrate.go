package stages

import (
	"fmt"
	"math"
)

// Eval statistics: the win rate of a policy's answers against an opponent's
// (the references, or a baseline policy's answers) under a judge, with a
// Wilson 95% confidence interval.

// Z95 is the standard normal quantile for a two-sided 95% interval.
const Z95 = 1.959963984540054

// A Match is the judge's two verdicts on one prompt, one in each order, as
// p(a) from LabelProb or RougeJudge.
type Match struct {
	// PolicyFirst is p(a) when the policy's answer is output (a).
	PolicyFirst float64 `json:"policy_first"`
	// PolicySecond is p(a) when the opponent's answer is output (a) and the
	// policy's is output (b).
	PolicySecond float64 `json:"policy_second"`
}

// Verdict turns the policy's probability of being better in one order into
// a win (1), a loss (0) or a tie (0.5, when it is exactly 0.5).
func Verdict(p float64) float64 {
	switch {
	case p > 0.5:
		return 1
	case p < 0.5:
		return 0
	}
	return 0.5
}

// Score returns the policy's outcome on the prompt, in [0, 1]: the mean of
// its verdicts in the two orders, ties counting as half. 1 means it won in
// both orders; 0.5 means one win and one loss, or two ties.
func (m Match) Score() float64 {
	return (Verdict(m.PolicyFirst) + Verdict(1-m.PolicySecond)) / 2
}

// Prob returns the policy's probability of being better on the prompt,
// averaged over the two orders: (p₁ + (1 − p₂)) / 2.
func (m Match) Prob() float64 {
	return (m.PolicyFirst + 1 - m.PolicySecond) / 2
}

// A WinRate summarizes a policy's matches against one opponent.
type WinRate struct {
	Prompts int `json:"prompts"` // matches counted
	// Wins, Ties and Losses count single-order verdicts: two per prompt.
	Wins   int `json:"wins"`
	Ties   int `json:"ties"`
	Losses int `json:"losses"`
	// Rate is the mean of Match.Score over the prompts: the fraction of
	// verdicts won, ties counting as half.
	Rate float64 `json:"win_rate"`
	// Low and High bound Rate's 95% Wilson score interval, with one trial per
	// prompt and Rate·Prompts successes.
	Low  float64 `json:"ci95_low"`
	High float64 `json:"ci95_high"`
	// MeanProb is the mean of Match.Prob: the soft win rate, which moves
	// before hard verdicts flip.
	MeanProb float64 `json:"mean_prob"`
}

// ComputeWinRate summarizes matches. A probability outside [0, 1] or NaN is
// an error naming the match; no matches give a zero WinRate with the
// interval [0, 1].
func ComputeWinRate(matches []Match) (WinRate, error) {
	var w WinRate
	var score, prob float64
	for i, m := range matches {
		for _, p := range []float64{m.PolicyFirst, m.PolicySecond} {
			if !(p >= 0 && p <= 1) {
				return WinRate{}, fmt.Errorf("match %d: p(a) = %v is not a probability in [0, 1]", i, p)
			}
		}
		for _, v := range []float64{Verdict(m.PolicyFirst), Verdict(1 - m.PolicySecond)} {
			switch v {
			case 1:
				w.Wins++
			case 0:
				w.Losses++
			default:
				w.Ties++
			}
		}
		score += m.Score()
		prob += m.Prob()
	}
	w.Prompts = len(matches)
	if w.Prompts > 0 {
		w.Rate = score / float64(w.Prompts)
		w.MeanProb = prob / float64(w.Prompts)
	}
	w.Low, w.High = Wilson(score, float64(w.Prompts), Z95)
	return w, nil
}

// Wilson returns the Wilson score interval for successes out of n trials
// at normal quantile z (Z95 for 95%). successes may be fractional (ties
// counted as half). n = 0 gives [0, 1].
func Wilson(successes, n, z float64) (low, high float64) {
	if n <= 0 {
		return 0, 1
	}
	p := successes / n
	z2 := z * z
	denom := 1 + z2/n
	center := (p + z2/(2*n)) / denom
	half := z / denom * math.Sqrt(p*(1-p)/n+z2/(4*n*n))
	return math.Max(0, center-half), math.Min(1, center+half)
}
