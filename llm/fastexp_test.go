package llm

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestFastExp(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	worst := 0.0
	for i := 0; i < 200000; i++ {
		x := -r.Float64() * 750
		if i%2 == 0 {
			x = -r.Float64() * 5
		}
		want := math.Exp(x)
		got := fastExp(x)
		if want == 0 || x < -708 {
			if got > 1e-300 {
				t.Fatalf("wrong fastExp(%g)\ngot:  %#v\nwant: about 0", x, got)
			}
			continue
		}
		worst = math.Max(worst, math.Abs(got-want)/want)
	}
	if worst > 1e-8 {
		t.Errorf("wrong fastExp accuracy\ngot:  max relative error %g\nwant: <= 1e-8", worst)
	}
	for _, x := range []float64{0, -1e-300, 0.5, 3} {
		if got, want := fastExp(x), math.Exp(x); math.Abs(got-want) > 1e-8*want {
			t.Errorf("wrong fastExp(%g)\ngot:  %#v\nwant: %#v", x, got, want)
		}
	}
}

func TestNormalizeLogProbs(t *testing.T) {
	tests := []struct {
		name string
		row  []float64
	}{
		{"uniform", []float64{2, 2, 2, 2}},
		{"spread", []float64{-3, 0, 1.5, 7}},
		{"large", []float64{1000, 999, -1000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := logSoftmax(tt.row)
			got := make([]float32, len(tt.row))
			for i, v := range tt.row {
				got[i] = float32(v)
			}
			normalizeLogProbs(got)
			for i := range got {
				if math.Abs(float64(got[i]-want[i])) > 1e-5 {
					t.Fatalf("wrong normalizeLogProbs(%v)\ngot:  %#v\nwant: %#v", tt.row, got, want)
				}
			}
		})
	}
}

func BenchmarkExp(b *testing.B) {
	xs := make([]float64, 151665)
	for i := range xs {
		xs[i] = -float64(i%1000) * 0.05
	}
	b.Run("math", func(b *testing.B) {
		s := 0.0
		for i := 0; i < b.N; i++ {
			for _, x := range xs {
				s += math.Exp(x)
			}
		}
		_ = s
	})
	b.Run("fast", func(b *testing.B) {
		s := 0.0
		for i := 0; i < b.N; i++ {
			for _, x := range xs {
				s += fastExp(x)
			}
		}
		_ = s
	})
}
