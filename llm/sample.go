package llm

import (
	"hash/fnv"
	"math/rand/v2"
	"sort"
)

// SampleParams controls Generate.
type SampleParams struct {
	N           int     // Samples per prompt; 0 means 1.
	MaxTokens   int     // Most tokens generated per sample; must be positive.
	Temperature float64 // Softmax temperature; 0 means greedy.
	TopP        float64 // Nucleus mass in (0, 1]; 0 means 1.
	TopK        int     // Keep the K most likely tokens; 0 means all.
	Greedy      bool    // Always take the most likely token (lowest id on ties).
	Seed        uint64  // With the request's Item and the sample index, seeds each sample's RNG.
}

// rowRNG returns the random stream of one sample: a PCG seeded from (seed,
// item, sample index), so a sample does not depend on the batch it ran in
// (ollama's sampler seeds a PCG the same way).
func rowRNG(seed uint64, item string, sample int) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(item))
	return rand.New(rand.NewPCG(seed^h.Sum64(), uint64(sample)*0x9e3779b97f4a7c15+1))
}

// pick chooses the next token from a row's logits (or log-probs: only
// differences matter). It draws one
// uniform number from rng per call (none when greedy), so the stream stays
// aligned whatever the tokens. scratch (len(logp) or nil) holds the
// unnormalized probabilities, so each exp is computed once.
func pick(logp []float32, p SampleParams, rng *rand.Rand, scratch []float64) int {
	if p.Greedy || p.Temperature <= 0 {
		best := 0
		for i, v := range logp {
			if v > logp[best] {
				best = i
			}
		}
		return best
	}
	u := rng.Float64()
	maxLP := maxOf(logp)
	invT := 1 / p.Temperature
	if len(scratch) != len(logp) {
		scratch = make([]float64, len(logp))
	}
	expShifted(scratch, logp, maxLP, invT)
	total := 0.0
	for _, w := range scratch {
		total += w // In order, so that a sample does not depend on the vector width.
	}
	weight := func(i int) float64 { return scratch[i] }
	topP := p.TopP
	if topP <= 0 || topP > 1 {
		topP = 1
	}
	if p.TopK <= 0 && topP >= 1 {
		// Plain temperature sampling: walk the vocabulary in id order.
		target, acc := u*total, 0.0
		for i := range logp {
			acc += weight(i)
			if acc > target {
				return i
			}
		}
		return len(logp) - 1
	}
	// Candidates in order of probability (lowest id first on ties). Only a
	// prefix is needed: find a threshold whose tokens already cover the
	// nucleus (and top-k), then sort just those.
	var cand []int
	for _, thr := range []float64{1e-2, 1e-4, 1e-6, 1e-9, 0} {
		cand = cand[:0]
		mass := 0.0
		for i := range logp {
			if w := weight(i); w/total >= thr {
				cand = append(cand, i)
				mass += w
			}
		}
		if p.TopK > 0 && len(cand) >= p.TopK || p.TopK <= 0 && mass/total >= topP || thr == 0 {
			break
		}
	}
	sort.Slice(cand, func(a, b int) bool {
		wa, wb := logp[cand[a]], logp[cand[b]]
		if wa != wb {
			return wa > wb
		}
		return cand[a] < cand[b]
	})
	if p.TopK > 0 && len(cand) > p.TopK {
		cand = cand[:p.TopK]
	}
	// Nucleus over the (top-k) renormalized distribution.
	kept := total
	if p.TopK > 0 {
		kept = 0
		for _, i := range cand {
			kept += weight(i)
		}
	}
	if topP < 1 {
		acc := 0.0
		for n, i := range cand {
			acc += weight(i)
			if acc >= topP*kept {
				cand = cand[:n+1]
				break
			}
		}
		kept = acc
	}
	target, acc := u*kept, 0.0
	for _, i := range cand {
		acc += weight(i)
		if acc > target {
			return i
		}
	}
	return cand[len(cand)-1]
}
