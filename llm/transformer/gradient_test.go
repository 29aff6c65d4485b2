package transformer

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// TestClosedFormGradients checks softmax's, rmsNormalize's and silu's
// values and closed-form gradients against GoMLX differentiating the plain
// formulas, in float64, including masked scores (−1e30) and a row of zeros.
func TestClosedFormGradients(t *testing.T) {
	b := testBackend(t)
	const eps = 1e-6
	for _, tc := range []struct {
		name        string
		fn, plainFn func(x *Node) *Node
	}{
		{"softmax", softmax, func(x *Node) *Node {
			e := Exp(Sub(x, StopGradient(ReduceAndKeep(x, ReduceMax, -1))))
			return Div(e, ReduceAndKeep(e, ReduceSum, -1))
		}},
		{"rms", func(x *Node) *Node { return rmsNormalize(x, eps) }, func(x *Node) *Node {
			return Div(x, Sqrt(AddScalar(ReduceAndKeep(Square(x), ReduceMean, -1), eps)))
		}},
		{"silu", silu, func(x *Node) *Node {
			return Mul(x, AddScalar(MulScalar(Tanh(MulScalar(x, 0.5)), 0.5), 0.5))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			dims := []int{2, 3, 5}
			x := make([]float64, 2*3*5)
			w := make([]float64, len(x))
			for i := range x {
				x[i], w[i] = rng.NormFloat64()*2, rng.NormFloat64()
			}
			x[5], x[6] = -1e30, -1e30 // masked scores in row 1
			for i := 10; i < 15; i++ {
				x[i] = 0 // a zero row
			}
			run := func(f func(*Node) *Node) [][]float64 {
				exec := MustNewExec(b, func(x, w *Node) []*Node {
					y := f(x)
					return []*Node{y, Gradient(ReduceAllSum(Mul(y, w)), x)[0]}
				})
				out := exec.MustExec(tensors.FromFlatDataAndDimensions(x, dims...), tensors.FromFlatDataAndDimensions(w, dims...))
				return [][]float64{tensors.MustCopyFlatData[float64](out[0]), tensors.MustCopyFlatData[float64](out[1])}
			}
			got, want := run(tc.fn), run(tc.plainFn)
			for k, what := range []string{"value", "gradient"} {
				for i := range want[k] {
					if math.Abs(got[k][i]-want[k][i]) > 1e-12*math.Max(1, math.Abs(want[k][i])) || math.IsNaN(got[k][i]) {
						t.Fatalf("wrong %s at %d\ngot:  %#v\nwant: %#v", what, i, got[k][i], want[k][i])
					}
				}
			}
		})
	}
}

// TestClosedFormGradientsReplaceDerivative checks that the closed forms are
// what a training graph differentiates: the gradient graph of softmax holds
// no Exp (GoMLX differentiating its decomposed softmax computes one).
func TestClosedFormGradientsReplaceDerivative(t *testing.T) {
	g := NewGraph(testBackend(t), "grad")
	defer g.Finalize()
	x := Parameter(g, "x", shapes.Make(dtypes.Float32, 2, 3))
	grad := Gradient(ReduceAllSum(Square(softmax(x))), x)[0]
	seen := map[*Node]bool{}
	var walk func(n *Node)
	walk = func(n *Node) {
		if seen[n] {
			return
		}
		seen[n] = true
		if n.Type() == NodeTypeExp {
			t.Fatalf("the softmax gradient computes Exp (node %s): the decomposed softmax is differentiated", n)
		}
		for _, in := range n.Inputs() {
			walk(in)
		}
	}
	walk(grad)
}
