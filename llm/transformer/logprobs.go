package transformer

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads as math.
)

// TargetLogProbs returns log softmax(logits)[..., target] for logits
// [batch, n, vocab] and int targets [batch, n]: float32 [batch, n]. It
// gathers the target logits and subtracts the log-sum-exp (shifted by the
// row maximum, whose gradient cancels and is stopped), so no [batch, n,
// vocab] log-softmax leaves it. It is the one place token log-probs are
// computed: the reference log-probs (llm) and the policy's (llm/train)
// are the same graph, and both are checked against the torch goldens.
func TargetLogProbs(logits, targets *Node) *Node {
	if logits.DType() != dtypes.Float32 {
		logits = ConvertDType(logits, dtypes.Float32)
	}
	g := logits.Graph()
	b, n := targets.Shape().Dimensions[0], targets.Shape().Dimensions[1]
	shifted := Sub(logits, StopGradient(ReduceAndKeep(logits, ReduceMax, -1)))
	lse := Log(ReduceSum(Exp(shifted), -1)) // [b, n]
	bi := Iota(g, shapes.Make(dtypes.Int32, b, n, 1), 0)
	ni := Iota(g, shapes.Make(dtypes.Int32, b, n, 1), 1)
	idx := Concatenate([]*Node{bi, ni, InsertAxes(ConvertDType(targets, dtypes.Int32), -1)}, -1)
	return Sub(Gather(shifted, idx), lse)
}
