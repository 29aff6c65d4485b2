package model_test

import (
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/refeval/refeval/llm/backend"
)

// BenchmarkMatMul measures the backend's float32 matmul alone, in the
// layout the transformer uses (activations [rows, in] times a Hugging Face
// weight [out, in], contracting both on in), at the shapes of the 124M
// model: what the backend reaches without the rest of the graph. Runs
// without REFEVAL_BENCH_MODELS.
func BenchmarkMatMul(b *testing.B) {
	be, err := backend.New("")
	if err != nil {
		b.Fatal(err)
	}
	defer be.Finalize()
	shapes := []struct {
		name           string
		rows, in, outs int
		layout         string // "xW": x [rows,in]·W[outs,in] (the model's); "Wx": W·x, W as the left operand; "xWt": W stored [in,outs].
	}{
		{"prefill_attn_128x512x512", 128, 512, 512, ""},
		{"prefill_mlp_128x512x1376", 128, 512, 1376, ""},
		{"decode_attn_1x512x512", 1, 512, 512, ""},
		{"decode_mlp_1x512x1376", 1, 512, 1376, ""},
		{"decode_lmhead_1x512x151665", 1, 512, 151665, ""},
		{"decode_lmhead_1x512x151665_Wx", 1, 512, 151665, "Wx"},
		{"decode_lmhead_1x512x151665_xWt", 1, 512, 151665, "xWt"},
		{"decode_lmhead_8x512x151665", 8, 512, 151665, ""},
	}
	for _, s := range shapes {
		b.Run(s.name, func(b *testing.B) {
			x := make([]float32, s.rows*s.in)
			w := make([]float32, s.outs*s.in)
			for i := range x {
				x[i] = float32(i%7) * 0.1
			}
			for i := range w {
				w[i] = float32(i%5) * 0.1
			}
			xt := tensors.FromFlatDataAndDimensions(x, s.rows, s.in)
			wt := tensors.FromFlatDataAndDimensions(w, s.outs, s.in)
			exec, err := NewExec(be, func(x, w *Node) *Node {
				switch s.layout {
				case "Wx":
					return DotGeneral(w, []int{1}, nil, x, []int{1}, nil)
				case "xWt":
					return DotGeneral(x, []int{1}, nil, w, []int{0}, nil)
				}
				return DotGeneral(x, []int{1}, nil, w, []int{1}, nil)
			})
			if err != nil {
				b.Fatal(err)
			}
			if s.layout == "xWt" {
				wt = tensors.FromFlatDataAndDimensions(w, s.in, s.outs)
			}
			if _, err := exec.Exec(xt, wt); err != nil { // compile
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out, err := exec.Exec(xt, wt)
				if err != nil {
					b.Fatal(err)
				}
				out[0].FinalizeAll()
			}
			flops := 2 * float64(s.rows) * float64(s.in) * float64(s.outs) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
