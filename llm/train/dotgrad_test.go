package train

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// dotCase is a DotGeneral of lhs and rhs (float64) with the given axes.
type dotCase struct {
	name                 string
	lhs, rhs             []int
	lc, lb, rc, rb       []int
	copiedLHS, copiedRHS int // Elements dotGeneralVJP's transposes copy for each gradient; -1: GoMLX's gradient.
}

var dotCases = []dotCase{
	// x [b, s, in] · W[out, in]ᵀ: dx needs no copy, dW copies dy only
	// (GoMLX's gradient had the backend copy dy and x).
	{name: "linear", lhs: []int{2, 3, 4}, rhs: []int{5, 4}, lc: []int{2}, rc: []int{1}, copiedLHS: 0, copiedRHS: 2 * 3 * 5},
	// Attention scores q·kᵀ [b, h, sq, sk]: dK copies the scores' gradient only.
	{name: "scores", lhs: []int{2, 3, 6, 4}, rhs: []int{2, 3, 7, 4}, lc: []int{3}, lb: []int{0, 1}, rc: []int{3}, rb: []int{0, 1}, copiedLHS: 0, copiedRHS: 2 * 3 * 6 * 7},
	// Attention output P·V: dV copies one operand (P here, the smaller).
	{name: "probs-values", lhs: []int{2, 3, 6, 5}, rhs: []int{2, 3, 5, 8}, lc: []int{3}, lb: []int{0, 1}, rc: []int{2}, rb: []int{0, 1}, copiedLHS: 0, copiedRHS: 2 * 3 * 6 * 5},
	// Batch axis not leading, two contracting axes paired out of order.
	{name: "scrambled", lhs: []int{3, 2, 4, 5}, rhs: []int{5, 2, 6, 3}, lc: []int{3, 0}, lb: []int{1}, rc: []int{0, 3}, rb: []int{1}, copiedLHS: 300, copiedRHS: 300},
	// Two cross axes on each side, no batch.
	{name: "two-cross", lhs: []int{2, 3, 4}, rhs: []int{5, 4, 6}, lc: []int{2}, rc: []int{1}, copiedLHS: 120, copiedRHS: 144},
	// A vector operand has no cross axes: GoMLX's gradient.
	{name: "vector", lhs: []int{4}, rhs: []int{4, 5}, lc: []int{0}, rc: []int{0}, copiedLHS: -1, copiedRHS: -1},
}

// TestDotGeneralGradient checks that dotGeneralVJP gives, for each
// operand, the gradients GoMLX's own DotGeneral gradient gives for the same
// product with both operands first transposed to [batch, cross,
// contracting] (GoMLX's gradient gets the "scrambled" case wrong: it assumes
// the contracting axes are listed in increasing order).
func TestDotGeneralGradient(t *testing.T) {
	b := testBackend(t)
	rng := rand.New(rand.NewPCG(7, 7))
	random := func(dims []int) *tensors.Tensor {
		data := make([]float64, shapes.Make(dtypes.Float64, dims...).Size())
		for i := range data {
			data[i] = rng.NormFloat64()
		}
		return tensors.FromFlatDataAndDimensions(data, dims...)
	}
	for _, c := range dotCases {
		t.Run(c.name, func(t *testing.T) {
			lhs, rhs := random(c.lhs), random(c.rhs)
			outShape := func() []int {
				var dims []int
				g := NewGraph(b, "shape")
				defer g.Finalize()
				o := DotGeneral(Parameter(g, "l", shapes.Make(dtypes.Float64, c.lhs...)), c.lc, c.lb,
					Parameter(g, "r", shapes.Make(dtypes.Float64, c.rhs...)), c.rc, c.rb)
				dims = o.Shape().Dimensions
				return dims
			}()
			weight := random(outShape)
			grads := func(vjp VJP, canonical bool) [][]float64 {
				VJPRegistration[NodeTypeDotGeneral] = vjp
				defer func() { VJPRegistration[NodeTypeDotGeneral] = dotGeneralVJP }()
				exec, err := NewExec(b, func(l, r, w *Node) []*Node {
					dot := DotGeneral(l, c.lc, c.lb, r, c.rc, c.rb)
					if canonical {
						lt := TransposeAllAxes(l, slices.Concat(c.lb, crossAxes(dotAxes{x: l, batch: c.lb, contract: c.lc}), c.lc)...)
						rt := TransposeAllAxes(r, slices.Concat(c.rb, crossAxes(dotAxes{x: r, batch: c.rb, contract: c.rc}), c.rc)...)
						nb, nc := len(c.lb), len(c.lc)
						dot = DotGeneral(lt, axesFrom(l.Rank()-nc, nc), axesFrom(0, nb), rt, axesFrom(r.Rank()-nc, nc), axesFrom(0, nb))
					}
					loss := ReduceAllSum(Mul(dot, w))
					return Gradient(loss, l, r)
				})
				if err != nil {
					t.Fatal(err)
				}
				outs, err := exec.Exec(lhs, rhs, weight)
				if err != nil {
					t.Fatal(err)
				}
				return [][]float64{tensors.MustCopyFlatData[float64](outs[0]), tensors.MustCopyFlatData[float64](outs[1])}
			}
			got, want := grads(dotGeneralVJP, false), grads(gomlxDotGeneralVJP, true)
			for i, name := range []string{"lhs", "rhs"} {
				for j := range want[i] {
					if math.Abs(got[i][j]-want[i][j]) > 1e-12*math.Max(1, math.Abs(want[i][j])) {
						t.Fatalf("wrong gradient of %s at %d\ngot:  %#v\nwant: %#v", name, j, got[i][j], want[i][j])
					}
				}
			}
		})
	}
}

// TestDotGeneralGradientCopies checks how many elements the gradient's
// transposes copy: none for a linear layer's input, the output gradient
// only for its weight, one operand for attention's key and value.
func TestDotGeneralGradientCopies(t *testing.T) {
	b := testBackend(t)
	for _, c := range dotCases {
		t.Run(c.name, func(t *testing.T) {
			g := NewGraph(b, "copies")
			defer g.Finalize()
			l := Parameter(g, "l", shapes.Make(dtypes.Float64, c.lhs...))
			r := Parameter(g, "r", shapes.Make(dtypes.Float64, c.rhs...))
			out := DotGeneral(l, c.lc, c.lb, r, c.rc, c.rb)
			lhs, rhs, ok := dotGeneralParams(out)
			if !ok {
				t.Fatal("dotGeneralParams cannot read the node")
			}
			v := Parameter(g, "v", out.Shape())
			got := []int{-1, -1}
			if len(lhs.cross) > 0 && len(rhs.cross) > 0 {
				nb := len(lhs.batch)
				vBatch, vL, vR := axesFrom(0, nb), axesFrom(nb, len(lhs.cross)), axesFrom(nb+len(lhs.cross), len(rhs.cross))
				_, _, got[0] = gradPlan(v, vBatch, vR, vL, lhs, rhs)
				_, _, got[1] = gradPlan(v, vBatch, vL, vR, rhs, lhs)
			}
			if want := []int{c.copiedLHS, c.copiedRHS}; got[0] != want[0] || got[1] != want[1] {
				t.Errorf("wrong elements copied (lhs, rhs)\ngot:  %v\nwant: %v", got, want)
			}
		})
	}
}
