package train

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestSequenceLogProbs checks the shift (logits at t score token t+1), the
// mask and the log-softmax against a direct float64 computation.
func TestSequenceLogProbs(t *testing.T) {
	const batch, seq, vocab = 3, 5, 7
	rng := rand.New(rand.NewPCG(1, 2))
	logits := make([]float32, batch*seq*vocab)
	for i := range logits {
		logits[i] = float32(rng.NormFloat64() * 2)
	}
	tokens := make([]int32, batch*seq)
	for i := range tokens {
		tokens[i] = int32(rng.IntN(vocab))
	}
	masks := map[string][]float32{
		"response after a two-token prompt": {0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0},
		"every token":                       {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		"nothing":                           make([]float32, batch*seq),
	}
	exec := MustNewExec(testBackend(t), func(l, tok, m *Node) []*Node {
		return []*Node{SequenceLogProbs(l, tok, m), TokenCrossEntropy(l, tok, m)}
	})
	for name, mask := range masks {
		t.Run(name, func(t *testing.T) {
			outs := exec.MustExec(
				tensors.FromFlatDataAndDimensions(logits, batch, seq, vocab),
				tensors.FromFlatDataAndDimensions(tokens, batch, seq),
				tensors.FromFlatDataAndDimensions(mask, batch, seq))
			got := tensors.MustCopyFlatData[float32](outs[0])
			nll := tensors.MustCopyFlatData[float32](outs[1])
			for b := range batch {
				want := 0.0
				for s := 1; s < seq; s++ {
					if mask[b*seq+s] == 0 {
						continue
					}
					row := logits[(b*seq+s-1)*vocab : (b*seq+s)*vocab]
					lse := 0.0
					for _, x := range row {
						lse += math.Exp(float64(x))
					}
					want += float64(row[tokens[b*seq+s]]) - math.Log(lse)
				}
				if math.Abs(float64(got[b])-want) > 1e-4 || math.Abs(float64(nll[b])+want) > 1e-4 {
					t.Errorf("wrong log-prob of row %d\ngot:  %#v (cross-entropy %#v)\nwant: %#v", b, got[b], nll[b], want)
				}
			}
		})
	}
}

func TestSchedule(t *testing.T) {
	tests := []struct {
		kind  string
		steps []int
		want  []float64
	}{
		// 10 steps, ratio 0.1 → int(1.0) = 1 warmup step.
		{ScheduleCosine, []int{0, 1, 4, 9}, []float64{0, 1, 0.5 * (1 + math.Cos(math.Pi*3/9)), 0.5 * (1 + math.Cos(math.Pi*8/9))}},
		{ScheduleLinear, []int{0, 1, 4, 9}, []float64{0, 1, 1 - 3.0/9, 1 - 8.0/9}},
		{ScheduleConstant, []int{0, 1, 9}, []float64{0, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			s, err := NewSchedule(tt.kind, 1, 0.1, 10)
			if err != nil {
				t.Fatal(err)
			}
			for i, step := range tt.steps {
				if got := s.At(step); math.Abs(got-tt.want[i]) > 1e-12 {
					t.Errorf("wrong lr at step %d\ngot:  %#v\nwant: %#v", step, got, tt.want[i])
				}
			}
		})
	}
}

// TestScheduleWarmupRoundsDown: warmup steps are int(ratio × total), as
// RLRR computes them, so a short run starts at the full rate.
func TestScheduleWarmupRoundsDown(t *testing.T) {
	tests := []struct {
		ratio       float64
		total, want int
	}{
		{0.1, 1, 0}, {0.1, 5, 0}, {0.1, 10, 1}, {0.15, 10, 1}, {0.1, 19, 1}, {0.03, 100, 3}, {1, 1, 1},
	}
	for _, tt := range tests {
		s, err := NewSchedule(ScheduleCosine, 1, tt.ratio, tt.total)
		if err != nil {
			t.Fatal(err)
		}
		if s.WarmupSteps != tt.want {
			t.Errorf("wrong warmup steps for ratio %v of %d\ngot:  %#v\nwant: %#v", tt.ratio, tt.total, s.WarmupSteps, tt.want)
		}
	}
}
