//go:build amd64 && goexperiment.simd

package llm

import (
	"math"
	"simd/archsimd"
)

// The vectorized forms of logSumExp and expShifted run fastExp's
// arithmetic on eight logits at a time with AVX-512: the same reduction,
// polynomial and unfused operations, so each term is the same float64.
// The scalar loops took 9 ms per 151,665 logits on the development
// machine (math.Floor is a function call below GOAMD64=v2), more than a
// whole 21M decode step; these take 0.7 ms.
var haveAVX512 = archsimd.X86.AVX512()

// exp8 is fastExp of eight values x <= 0. Below −708 fastExp gives 0 and
// exp8 e^−708 ≈ 3e-308, which leaves the sums it enters (>= 1, or a total
// compared against) unchanged.
func exp8(x archsimd.Float64x8) archsimd.Float64x8 {
	c := archsimd.BroadcastFloat64x8
	x = x.Max(c(-708))
	k := x.Mul(c(1.44269504088896338700e+00)).Add(c(0.5)).FloorScaled(0)
	r := x.Sub(k.Mul(c(6.93147180369123816490e-01))).Sub(k.Mul(c(1.90821492927058770002e-10)))
	p := c(1.0 / 720).Add(r.Mul(c(1.0 / 5040)))
	p = c(1.0 / 120).Add(r.Mul(p))
	p = c(1.0 / 24).Add(r.Mul(p))
	p = c(1.0 / 6).Add(r.Mul(p))
	p = c(1.0 / 2).Add(r.Mul(p))
	p = c(1).Add(r.Mul(c(1).Add(r.Mul(p))))
	return p.Scale(k)
}

// logSumExp returns log Σ e^row[i] (float64 accumulation, in eight lanes).
func logSumExp(row []float32) float64 {
	if !haveAVX512 || len(row) < 16 {
		return logSumExpScalar(row)
	}
	m := maxOf(row)
	bm := archsimd.BroadcastFloat32x8(m)
	sum := archsimd.BroadcastFloat64x8(0)
	i := 0
	for ; i+8 <= len(row); i += 8 {
		sum = sum.Add(exp8(archsimd.LoadFloat32x8Slice(row[i:]).Sub(bm).ConvertToFloat64()))
	}
	var lanes [8]float64
	sum.Store(&lanes)
	s := 0.0
	for _, v := range lanes {
		s += v
	}
	for _, v := range row[i:] {
		s += fastExp(float64(v - m))
	}
	return float64(m) + math.Log(s)
}

// expShifted sets dst[i] = fastExp(float64(row[i]−m)·scale) for row[i] <= m
// and scale > 0.
func expShifted(dst []float64, row []float32, m float32, scale float64) {
	i := 0
	if haveAVX512 {
		bm, bs := archsimd.BroadcastFloat32x8(m), archsimd.BroadcastFloat64x8(scale)
		for ; i+8 <= len(row); i += 8 {
			exp8(archsimd.LoadFloat32x8Slice(row[i:]).Sub(bm).ConvertToFloat64().Mul(bs)).StoreSlice(dst[i:])
		}
	}
	for ; i < len(row); i++ {
		dst[i] = fastExp(float64(row[i]-m) * scale)
	}
}

// maxOf returns the largest of row (not empty).
func maxOf(row []float32) float32 {
	m := row[0]
	i := 0
	if haveAVX512 && len(row) >= 16 {
		mv := archsimd.LoadFloat32x16Slice(row)
		for i = 16; i+16 <= len(row); i += 16 {
			mv = mv.Max(archsimd.LoadFloat32x16Slice(row[i:]))
		}
		var lanes [16]float32
		mv.Store(&lanes)
		for _, v := range lanes {
			m = max(m, v)
		}
	}
	for _, v := range row[i:] {
		m = max(m, v)
	}
	return m
}
