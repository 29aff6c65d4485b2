package llm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func logSoftmax(logits []float64) []float32 {
	m := math.Inf(-1)
	for _, v := range logits {
		m = math.Max(m, v)
	}
	s := 0.0
	for _, v := range logits {
		s += math.Exp(v - m)
	}
	out := make([]float32, len(logits))
	for i, v := range logits {
		out[i] = float32(v - m - math.Log(s))
	}
	return out
}

// TestPickDistribution draws many tokens and compares frequencies with the
// distribution each setting should give.
func TestPickDistribution(t *testing.T) {
	logp := logSoftmax([]float64{2, 1, 1, 0.5, 0, -1, -3})
	probs := make([]float64, len(logp))
	for i, v := range logp {
		probs[i] = math.Exp(float64(v))
	}
	restrict := func(keep []int, temp float64) []float64 {
		out := make([]float64, len(probs))
		s := 0.0
		for _, i := range keep {
			out[i] = math.Pow(probs[i], 1/temp)
			s += out[i]
		}
		for i := range out {
			out[i] /= s
		}
		return out
	}
	all := []int{0, 1, 2, 3, 4, 5, 6}
	tests := []struct {
		name string
		p    SampleParams
		want []float64
	}{
		{"temperature 1", SampleParams{Temperature: 1}, restrict(all, 1)},
		{"temperature 0.5", SampleParams{Temperature: 0.5}, restrict(all, 0.5)},
		{"top-k 2", SampleParams{Temperature: 1, TopK: 2}, restrict([]int{0, 1}, 1)},
		// Ties (ids 1 and 2) break towards the lower id.
		{"top-k 2 ties", SampleParams{Temperature: 1, TopK: 3}, restrict([]int{0, 1, 2}, 1)},
		// p = .42 .16 .16 .09 .06 .02 .003: 0.5 needs ids 0 and 1.
		{"top-p 0.5", SampleParams{Temperature: 1, TopP: 0.5}, restrict([]int{0, 1}, 1)},
		{"top-p 0.8 top-k 3", SampleParams{Temperature: 1, TopP: 0.8, TopK: 3}, restrict([]int{0, 1, 2}, 1)},
		{"greedy", SampleParams{Greedy: true, Temperature: 1}, restrict([]int{0}, 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			const n = 40000
			counts := make([]float64, len(logp))
			for i := 0; i < n; i++ {
				counts[pick(logp, tc.p, rng, nil)]++
			}
			for i := range counts {
				got := counts[i] / n
				if math.Abs(got-tc.want[i]) > 0.01 {
					t.Errorf("wrong frequency of token %d\ngot:  %#v\nwant: %#v", i, got, tc.want[i])
				}
			}
		})
	}
}

func TestChunk(t *testing.T) {
	tests := []struct {
		name              string
		vocab, left       int
		lengths, scored   []int // scored nil: attention only
		n, seqLen, scoreL int
	}{
		{"small vocab fills the batch", 300, 10, []int{5, 100, 7, 3, 3, 3, 3, 3, 3, 3}, []int{1, 50, 1, 1, 1, 1, 1, 1, 1, 1}, 8, 128, 64},
		{"big vocab stops at the budget", 151665, 10, []int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, []int{100, 100, 100, 100, 100, 100, 100, 100, 100, 100}, 4, 256, 128},
		{"only scored positions count", 151665, 10, []int{200, 200, 200, 200, 200, 200, 200, 200, 200, 200}, []int{10, 10, 10, 10, 10, 10, 10, 10, 10, 10}, 8, 256, 16},
		{"one long row always runs", 151665, 2, []int{5000, 3}, []int{4000, 1}, 1, 6144, 4096},
		{"fewer left than a batch", 300, 3, []int{1, 2, 3}, []int{0, 1, 2}, 3, 16, 16},
		{"attention only ignores the vocab", 151665, 10, []int{100, 100, 100, 100, 100, 100, 100, 100, 100, 100}, nil, 8, 128, 16},
		// 4 heads × 3072² × 4 rows = 151M > 2^27: 2 rows per pass.
		{"long prompts bound attention", 300, 4, []int{3000, 3000, 3000, 3000}, nil, 2, 3072, 16},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &Model{maxBatch: 8}
			m.cfg.VocabSize, m.cfg.NumAttentionHeads = tc.vocab, 4
			var scored func(int) int
			if tc.scored != nil {
				scored = func(i int) int { return tc.scored[i] }
			}
			n, seqLen, scoreL := m.chunk(tc.left, func(i int) int { return tc.lengths[i] }, scored)
			if n != tc.n || seqLen != tc.seqLen || scoreL != tc.scoreL {
				t.Errorf("wrong chunk\ngot:  %d rows of %d, %d scored\nwant: %d rows of %d, %d scored", n, seqLen, scoreL, tc.n, tc.seqLen, tc.scoreL)
			}
		})
	}
}

func BenchmarkPick(b *testing.B) {
	logits := make([]float64, 151665)
	r := rand.New(rand.NewPCG(1, 1))
	for i := range logits {
		logits[i] = r.NormFloat64() * 3
	}
	logp := logSoftmax(logits)
	scratch := make([]float64, len(logp))
	for _, p := range []SampleParams{{Greedy: true}, {Temperature: 0.8}, {Temperature: 0.8, TopP: 0.95}, {Temperature: 0.8, TopK: 50}} {
		b.Run(fmt.Sprintf("T%g_p%g_k%d_greedy%v", p.Temperature, p.TopP, p.TopK, p.Greedy), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				pick(logp, p, r, scratch)
			}
		})
	}
}
