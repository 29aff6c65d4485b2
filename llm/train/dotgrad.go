package train

import (
	"reflect"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads as math.
)

// GoMLX's DotGeneral gradient contracts the output gradient with the other
// operand in whatever axis order falls out and transposes back afterwards;
// the pure-Go backend's matmul takes only lhs [batch, cross, contracting]
// with rhs [batch, contracting, cross] or [batch, cross, contracting], and
// when the operands fit neither it transposes both into the second. So a
// weight gradient dW = dyᵀ·x (contracting the token axes, which lead in
// both) copies dy and x, and attention's dK and dV copy the scores and
// the values and then the result. dotGeneralVJP computes the same sums but
// picks the operand order and transposes itself, at most one operand and
// only when needed, choosing the order that copies fewest elements: dW
// copies dy only, dK the scores only. Same products and sums; on XLA the
// explicit transposes are free to fuse.
//
// It replaces the registered DotGeneral gradient for every graph in the
// process; a node it does not handle (dtype conversions in the config,
// dynamic shapes, an operand without cross axes) keeps GoMLX's gradient.
func init() {
	gomlxDotGeneralVJP = VJPRegistration[NodeTypeDotGeneral]
	VJPRegistration[NodeTypeDotGeneral] = dotGeneralVJP
}

var gomlxDotGeneralVJP VJP

// dotAxes is one operand of a DotGeneral with its axes by role.
type dotAxes struct {
	x                      *Node
	batch, contract, cross []int
}

// dotGeneralParams reads the operands' axes of a DotGeneral node. GoMLX
// keeps them unexported, so it reads them by reflection; ok is false when
// the node does not have the expected form, or when its config asks for an
// accumulator or output dtype, which this gradient does not handle.
func dotGeneralParams(node *Node) (lhs, rhs dotAxes, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	in := reflect.ValueOf(node).Elem().FieldByName("inputs")
	if !in.IsValid() || in.IsNil() {
		return lhs, rhs, false
	}
	p := in.Elem().Elem()
	ints := func(name string) []int {
		f := p.FieldByName(name)
		out := make([]int, f.Len())
		for i := range out {
			out[i] = int(f.Index(i).Int())
		}
		return out
	}
	cfg := p.FieldByName("config")
	if cfg.Type() != reflect.TypeFor[compute.DotGeneralConfig]() || !cfg.IsZero() {
		return lhs, rhs, false
	}
	inputs := node.Inputs()
	if len(inputs) != 2 {
		return lhs, rhs, false
	}
	lhs = dotAxes{x: inputs[0], batch: ints("lhsBatchAxes"), contract: ints("lhsContractingAxes")}
	rhs = dotAxes{x: inputs[1], batch: ints("rhsBatchAxes"), contract: ints("rhsContractingAxes")}
	lhs.cross, rhs.cross = crossAxes(lhs), crossAxes(rhs)
	return lhs, rhs, true
}

// crossAxes returns the axes of a that are neither batch nor contracting,
// in increasing order.
func crossAxes(a dotAxes) []int {
	var out []int
	for i := range a.x.Rank() {
		if !slices.Contains(a.batch, i) && !slices.Contains(a.contract, i) {
			out = append(out, i)
		}
	}
	return out
}

func dotGeneralVJP(node *Node, vjps []*Node, outShape shapes.Shape) []*Node {
	lhs, rhs, ok := dotGeneralParams(node)
	v := vjps[0]
	if !ok || len(lhs.cross) == 0 || len(rhs.cross) == 0 || len(lhs.contract) == 0 || lhs.x.DType() != v.DType() || rhs.x.DType() != v.DType() ||
		!v.DType().IsFloat() || lhs.x.Shape().IsDynamic() || rhs.x.Shape().IsDynamic() {
		return gomlxDotGeneralVJP(node, vjps, outShape)
	}
	nb := len(lhs.batch)
	// v is [batch..., lhs cross..., rhs cross...].
	vBatch := axesFrom(0, nb)
	vLHSCross := axesFrom(nb, len(lhs.cross))
	vRHSCross := axesFrom(nb+len(lhs.cross), len(rhs.cross))
	return []*Node{
		operandGrad(v, vBatch, vRHSCross, vLHSCross, lhs, rhs),
		operandGrad(v, vBatch, vLHSCross, vRHSCross, rhs, lhs),
	}
}

// operandGrad is the gradient w.r.t. this: v contracted with other over
// other's cross axes (vOther in v), batch axes paired. vThis are this
// operand's cross axes in v.
func operandGrad(v *Node, vBatch, vOther, vThis []int, this, other dotAxes) *Node {
	p, perm, _ := gradPlan(v, vBatch, vOther, vThis, this, other)
	grad := p.dot()
	if !isIota(perm) {
		grad = TransposeAllAxes(grad, perm...)
	}
	return grad
}

// gradPlan picks the operand order of operandGrad's DotGeneral; perm
// transposes its result into this's layout, and copied counts the
// elements the transposes of operands and result copy.
func gradPlan(v *Node, vBatch, vOther, vThis []int, this, other dotAxes) (p plan, perm []int, copied int) {
	sorted := slices.Sorted(slices.Values(other.contract))
	vv := dotAxes{x: v, batch: vBatch, contract: vOther, cross: vThis}
	o := dotAxes{x: other.x, batch: other.batch, contract: other.cross, cross: sorted}
	// The axis of this that each of other's contracting axes stands for.
	thisOf := func(otherContract []int) []int {
		out := make([]int, len(otherContract))
		for i, ax := range otherContract {
			out[i] = this.contract[slices.Index(other.contract, ax)]
		}
		return out
	}
	size := this.x.Shape().Size()
	for i, c := range []struct {
		p    plan
		axes []int // The axis of this each result axis stands for.
	}{
		// v as the left operand: result [batch, this cross, other's contracting axes ascending].
		{dotPlan(vv, o), slices.Concat(this.batch, this.cross, thisOf(sorted))},
		// other as the left operand: result [batch, other's contracting axes ascending, this cross].
		{dotPlan(o, vv), slices.Concat(this.batch, thisOf(sorted), this.cross)},
	} {
		cost, cPerm := c.p.cost, inverse(c.axes)
		if !isIota(cPerm) {
			cost += size
		}
		if i == 0 || cost < copied {
			p, perm, copied = c.p, cPerm, cost
		}
	}
	return p, perm, copied
}

// dotPlan is a DotGeneral whose operands are transposed, where needed, into
// a layout the pure-Go backend's matmul takes as is; cost counts the
// elements those transposes copy. Its result is DotGeneral's: [batch,
// lhs cross ascending, rhs cross ascending].
type plan struct {
	lhs, rhs           dotAxes
	lhsMoved, rhsMoved bool // Whether dot transposes the operand.
	cost               int
}

func dotPlan(lhs, rhs dotAxes) plan {
	p := plan{lhs: lhs, rhs: rhs}
	// lhs: [batch (paired order), cross ascending, contracting (paired order)].
	p.lhsMoved = !isIota(slices.Concat(lhs.batch, lhs.cross, lhs.contract))
	// rhs, with the lhs in that form: batch leading in paired order and the
	// contracting axes in paired order, consecutive, either right after the
	// batch axes or last.
	nb, rc := len(rhs.batch), rhs.contract
	p.rhsMoved = !isIota(rhs.batch) || !consecutive(rc) || (rc[0] != nb && rc[len(rc)-1] != rhs.x.Rank()-1)
	if p.lhsMoved {
		p.cost += lhs.x.Shape().Size()
	}
	if p.rhsMoved {
		p.cost += rhs.x.Shape().Size()
	}
	return p
}

func (p plan) dot() *Node {
	lhs, rhs := p.lhs, p.rhs
	nb, nc := len(lhs.batch), len(lhs.contract)
	lx, lc := lhs.x, lhs.contract
	if p.lhsMoved {
		lx = TransposeAllAxes(lx, slices.Concat(lhs.batch, lhs.cross, lhs.contract)...)
		lc = axesFrom(lx.Rank()-nc, nc)
	}
	rx, rc := rhs.x, rhs.contract
	if p.rhsMoved {
		rx = TransposeAllAxes(rx, slices.Concat(rhs.batch, rhs.cross, rhs.contract)...)
		rc = axesFrom(rx.Rank()-nc, nc)
	}
	return DotGeneral(lx, lc, axesFrom(0, nb), rx, rc, axesFrom(0, nb))
}

// axesFrom returns the n axes start, start+1, ….
func axesFrom(start, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = start + i
	}
	return out
}

func isIota(p []int) bool {
	for i, v := range p {
		if v != i {
			return false
		}
	}
	return true
}

// consecutive reports whether p is k, k+1, … (and not empty).
func consecutive(p []int) bool {
	if len(p) == 0 {
		return false
	}
	for i := range p {
		if p[i] != p[0]+i {
			return false
		}
	}
	return true
}

// inverse returns, for axes listing which axis of the target each result
// axis is, the permutation TransposeAllAxes takes: target axis i comes
// from result axis inverse[i].
func inverse(axes []int) []int {
	out := make([]int, len(axes))
	for i, a := range axes {
		out[a] = i
	}
	return out
}
