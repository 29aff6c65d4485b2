package train

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// adamWReference is torch.optim.AdamW's step (amsgrad off) after
// torch.nn.utils.clip_grad_norm_, in float64.
type adamWReference struct {
	m1, m2 [][]float64
}

func (a *adamWReference) step(params, grads [][]float64, decays []bool, lr, wd, maxNorm float64, t int) float64 {
	sq := 0.0
	for _, g := range grads {
		for _, x := range g {
			sq += x * x
		}
	}
	norm := math.Sqrt(sq)
	coef := 1.0
	if maxNorm > 0 {
		coef = min(1, maxNorm/(norm+1e-6))
	}
	if a.m1 == nil {
		for _, p := range params {
			a.m1, a.m2 = append(a.m1, make([]float64, len(p))), append(a.m2, make([]float64, len(p)))
		}
	}
	bc1 := 1 - math.Pow(0.9, float64(t))
	bc2 := 1 - math.Pow(0.999, float64(t))
	for i, p := range params {
		for j := range p {
			g := grads[i][j] * coef
			if decays[i] {
				p[j] *= 1 - lr*wd
			}
			a.m1[i][j] = 0.9*a.m1[i][j] + 0.1*g
			a.m2[i][j] = 0.999*a.m2[i][j] + 0.001*g*g
			p[j] -= lr / bc1 * a.m1[i][j] / (math.Sqrt(a.m2[i][j])/math.Sqrt(bc2) + 1e-8)
		}
	}
	return norm
}

func TestAdamWMatchesTorchFormula(t *testing.T) {
	for _, c := range []struct {
		name    string
		maxNorm float64
	}{
		{"clipped", 1},   // The gradient norm is above 1 at every step.
		{"unclipped", 0}, // The graph without the clipping multiply.
	} {
		t.Run(c.name, func(t *testing.T) { testAdamW(t, c.maxNorm) })
	}
}

func testAdamW(t *testing.T, maxNorm float64) {
	b := testBackend(t)
	store := model.NewStore()
	w0 := []float64{0.5, -1, 2, 0.25, -0.75, 1.5}
	b0 := []float64{0.1, -0.2, 0.3}
	f32 := func(x []float64) []float32 {
		out := make([]float32, len(x))
		for i := range x {
			out[i] = float32(x[i])
		}
		return out
	}
	if _, err := store.CreateVariable("/w", tensors.FromFlatDataAndDimensions(f32(w0), 2, 3)); err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateVariable("/b", tensors.FromFlatDataAndDimensions(f32(b0), 3)); err != nil {
		t.Fatal(err)
	}
	m := &Model{Backend: b, Store: store, Logits: func(*model.Scope, *Node, *Node) *Node { return nil }}
	const lr, wd = 0.01, 0.1
	opt, err := newOptimizer(m, 2, wd, maxNorm)
	if err != nil {
		t.Fatal(err)
	}
	// Replica r's loss is Σ c·w + Σ d·b + (w·w)/2: its gradient depends on the weights.
	execs := make([]*model.Exec, 2)
	for r := range execs {
		execs[r] = model.MustNewExec(b, store, func(scope *model.Scope, c, d *Node) *Node {
			g := c.Graph()
			w, bias := store.GetVariable("/w").NodeValue(g), store.GetVariable("/b").NodeValue(g)
			loss := Add(ReduceAllSum(Mul(c, w)), ReduceAllSum(Mul(d, bias)))
			loss = Add(loss, MulScalar(ReduceAllSum(Square(w)), 0.5))
			opt.accumulateGraph(g, r, loss)
			return loss
		})
	}
	cs := [][]float64{{1, 2, -3, 0.5, 0, 4}, {-2, 1, 1, 3, -1, 0}}
	ds := [][]float64{{0.5, -0.5, 2}, {1, 1, -1}}
	ref := &adamWReference{}
	refW := append([]float64(nil), w0...)
	refB := append([]float64(nil), b0...)
	for step := 1; step <= 3; step++ {
		gw := make([]float64, 6)
		gb := make([]float64, 3)
		for r := range execs {
			if _, err := execs[r].Exec(tensors.FromFlatDataAndDimensions(f32(cs[r]), 2, 3), tensors.FromFlatDataAndDimensions(f32(ds[r]), 3)); err != nil {
				t.Fatal(err)
			}
			for j := range gw {
				gw[j] += cs[r][j] + refW[j]
			}
			for j := range gb {
				gb[j] += ds[r][j]
			}
		}
		wantNorm := ref.step([][]float64{refW, refB}, [][]float64{gw, gb}, []bool{true, true}, lr, wd, maxNorm, step)
		norm, err := opt.step(lr, step)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(norm-wantNorm) > 1e-5*wantNorm {
			t.Errorf("wrong gradient norm at step %d\ngot:  %#v\nwant: %#v", step, norm, wantNorm)
		}
		for _, c := range []struct {
			path string
			want []float64
		}{{"/w", refW}, {"/b", refB}} {
			got := tensors.MustCopyFlatData[float32](store.GetVariable(c.path).MustValue())
			if d := maxAbsDiff(got, f32(c.want)); d > 1e-6 {
				t.Errorf("wrong %s after step %d (max difference %g)\ngot:  %#v\nwant: %#v", c.path, step, d, got, c.want)
			}
		}
	}
	if err := opt.close(store); err != nil {
		t.Fatal(err)
	}
	if n := store.NumVariables(); n != 2 {
		t.Errorf("wrong number of variables after close\ngot:  %#v\nwant: %#v", n, 2)
	}
}
