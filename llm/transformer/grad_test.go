package transformer

import (
	"math"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/refeval/refeval/llm/checkpoint"
)

// TestGradients checks that a loss built on VariableWeights has gradients
// for the weights (as the trainer needs) that match finite differences.
func TestGradients(t *testing.T) {
	eachCase(t, goldenCases[:3], func(t *testing.T, b compute.Backend, tc goldenCase, cfg checkpoint.Config) {
		tr := New(cfg)
		w := goldenWeights(cfg)
		toks, mask := batch(goldenSequences, 12, true)
		names := []string{"model.layers.1.self_attn.q_proj.weight", "model.layers.0.mlp.up_proj.weight", "model.norm.weight", "model.embed_tokens.weight"}
		grad := model.MustNewExec(b, newStore(t, w), func(scope *model.Scope, tokens, m *Node) []*Node {
			loss := ReduceAllSum(tokenLogProbs(tr, VariableWeights(scope), tokens, m))
			var wrt []*Node
			for _, n := range names {
				wrt = append(wrt, scope.GetVariable(n).NodeValue(tokens.Graph()))
			}
			return append([]*Node{loss}, Gradient(loss, wrt...)...)
		})
		out := grad.MustCall(toks, mask)
		lossAt := func(w map[string]*checkpoint.Tensor) float64 {
			e := model.MustNewExec(b, newStore(t, w), func(scope *model.Scope, tokens, m *Node) *Node {
				return ReduceAllSum(tokenLogProbs(tr, VariableWeights(scope), tokens, m))
			})
			return float64(tensors.MustCopyFlatData[float32](e.MustCall(toks, mask)[0])[0])
		}
		for i, n := range names {
			g := tensors.MustCopyFlatData[float32](out[1+i])
			// Probe the element with the largest gradient.
			k := 0
			for j := range g {
				if math.Abs(float64(g[j])) > math.Abs(float64(g[k])) {
					k = j
				}
			}
			const eps = 1e-2
			orig := w[n].Data[k]
			w[n].Data[k] = orig + eps
			up := lossAt(w)
			w[n].Data[k] = orig - eps
			down := lossAt(w)
			w[n].Data[k] = orig
			fd := (up - down) / (2 * eps)
			if math.Abs(fd-float64(g[k])) > 2e-2*math.Max(1, math.Abs(fd)) {
				t.Errorf("wrong gradient of %s[%d]\ngot:  %#v\nwant: %#v (finite difference)", n, k, g[k], fd)
			}
		}
	})
}

// tokenLogProbs returns [batch, seq] log-probabilities: entry s is
// log p(tokens[s+1] | tokens[:s+1]), and the last column is 0 (the
// gradient test's loss, built on TargetLogProbs).
func tokenLogProbs(tr *Transformer, w Weights, tokens, mask *Node) *Node {
	g := tokens.Graph()
	b, s := tokens.Shape().Dimensions[0], tokens.Shape().Dimensions[1]
	next := Concatenate([]*Node{SliceAxis(tokens, 1, AxisRange(1, s)), Zeros(g, shapes.Make(dtypes.Int32, b, 1))}, 1)
	lp := TargetLogProbs(tr.Logits(w, tokens, mask), next)
	last := Equal(Iota(g, shapes.Make(dtypes.Int32, b, s), 1), Scalar(g, dtypes.Int32, s-1))
	return Where(last, ZerosLike(lp), lp)
}
