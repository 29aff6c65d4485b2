//go:build !(amd64 && goexperiment.simd)

package llm

// logSumExp returns log Σ e^row[i] (float64 accumulation).
func logSumExp(row []float32) float64 { return logSumExpScalar(row) }

// expShifted sets dst[i] = fastExp(float64(row[i]−m)·scale) for row[i] <= m
// and scale > 0.
func expShifted(dst []float64, row []float32, m float32, scale float64) {
	for i, v := range row {
		dst[i] = fastExp(float64(v-m) * scale)
	}
}

// maxOf returns the largest of row (not empty).
func maxOf(row []float32) float32 {
	m := row[0]
	for _, v := range row {
		m = max(m, v)
	}
	return m
}
