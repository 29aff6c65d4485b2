package transformer

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads as math.
)

// withGradient returns forward(), a function of x alone, whose gradient
// with respect to x is grad(v) for the gradient v arriving at the result,
// in place of differentiating forward's graph. It is how softmax and the
// RMS normalization take their short closed-form gradients: the pure-Go
// backend runs element-wise ops one at a time, through a slow iterator
// when one operand is broadcast, so the op-by-op derivative of a
// normalization costs several passes more than the formula. It uses
// GoMLX's fused-op hook (the gradient arriving at the result goes to an
// alternate node, here an identity of x with a custom gradient); when
// GOMLX_FUSION turns that hook off, forward() is differentiated as is.
func withGradient(x *Node, forward func() *Node, grad func(v *Node) *Node) *Node {
	alt := IdentityWithCustomGradient(x, func(_, v *Node) *Node { return grad(v) })
	y, ok := InternalFusedOpCaller(forward, func() *Node { return alt }, true)
	if !ok {
		return forward()
	}
	return y
}

// softmax is Softmax over the last axis, with the gradient
// p ⊙ (v − Σ v ⊙ p). GoMLX's Softmax runs the backend's fused softmax but
// differentiates its decomposed form, which a training graph then computes
// too (max, shift, exp, sum and divide over every attention score).
func softmax(x *Node) *Node {
	var p *Node
	p = withGradient(x, func() *Node { return Softmax(x, -1) }, func(v *Node) *Node {
		return Mul(p, Sub(v, ReduceAndKeep(Mul(v, p), ReduceSum, -1)))
	})
	return p
}

// rmsNormalize returns x · 1/√(mean(x²) + eps) over the last axis (the
// reciprocal as Hugging Face's x · rsqrt, through Sqrt, which every
// backend differentiates), with the gradient (v − n · mean(v ⊙ n)) · 1/√(…),
// n the result. The per-row factors are broadcast explicitly, adding the
// last axis (the pure-Go backend folds a same-rank broadcast back into the
// multiply): a multiply by [..., 1] goes through its slow broadcasting
// iterator, and the broadcast reciprocal is reused by the gradient.
func rmsNormalize(x *Node, eps float64) *Node {
	var n, inv *Node
	dims := x.Shape().Dimensions
	last := []int{x.Rank() - 1}
	n = withGradient(x, func() *Node {
		inv = ExpandAndBroadcast(Reciprocal(Sqrt(AddScalar(ReduceMean(Square(x), -1), eps))), dims, last)
		return Mul(x, inv)
	}, func(v *Node) *Node {
		return Mul(Sub(v, Mul(n, ExpandAndBroadcast(ReduceMean(Mul(v, n), -1), dims, last))), inv)
	})
	return n
}
