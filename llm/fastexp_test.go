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

// TestLogSumExp checks logSumExp (vectorized where the CPU allows) against
// the one-logit-at-a-time loop and against math.Exp, on rows whose lengths
// exercise every tail and whose spread reaches fastExp's underflow.
func TestLogSumExp(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 7, 8, 15, 16, 17, 100, 151665} {
		for _, spread := range []float64{1, 30, 2000} {
			row := make([]float32, n)
			for i := range row {
				row[i] = float32((r.Float64() - 0.5) * spread)
			}
			got, scalar := logSumExp(row), logSumExpScalar(row)
			mx := float64(row[0])
			for _, v := range row {
				mx = math.Max(mx, float64(v))
			}
			s := 0.0
			for _, v := range row {
				s += math.Exp(float64(v) - mx)
			}
			want := mx + math.Log(s)
			if m := maxOf(row); float64(m) != mx {
				t.Fatalf("wrong maxOf of %d logits\ngot:  %#v\nwant: %#v", n, m, mx)
			}
			if math.Abs(got-scalar) > 1e-12*math.Max(1, math.Abs(want)) || math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
				t.Errorf("wrong logSumExp of %d logits spread %g\ngot:  %#v\nwant: %#v (scalar loop %#v)", n, spread, got, want, scalar)
			}
		}
	}
}

func BenchmarkLogSumExp(b *testing.B) {
	row := make([]float32, 151665)
	for i := range row {
		row[i] = float32(i%1000) * 0.01
	}
	b.Run("scalar", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			logSumExpScalar(row)
		}
	})
	b.Run("default", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			logSumExp(row)
		}
	})
}

// TestExpShifted checks expShifted (vectorized where the CPU allows)
// against fastExp term by term: the sampler's weights must not depend on
// the vector width.
func TestExpShifted(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 7, 8, 9, 33, 1000} {
		row := make([]float32, n)
		for i := range row {
			row[i] = float32((r.Float64() - 0.5) * 100)
		}
		m := maxOf(row)
		got := make([]float64, n)
		expShifted(got, row, m, 1/0.7)
		for i, v := range row {
			if want := fastExp(float64(v-m) * (1 / 0.7)); got[i] != want && !(want == 0 && got[i] < 1e-300) {
				t.Fatalf("wrong expShifted term %d of %d\ngot:  %#v\nwant: %#v", i, n, got[i], want)
			}
		}
	}
}
