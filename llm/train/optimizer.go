package train

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads as math.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// AdamW constants. PyTorch's torch.optim.AdamW defaults, which TRL and the
// paper's run use; GoMLX's own Adam defaults to epsilon 1e-7 instead.
const (
	adamBeta1   = 0.9
	adamBeta2   = 0.999
	adamEpsilon = 1e-8
	// clipEpsilon is added to the global norm before dividing, as
	// torch.nn.utils.clip_grad_norm_ does.
	clipEpsilon = 1e-6
)

// optimizer holds the state of AdamW with decoupled weight decay and
// global-norm clipping over gradients accumulated by several replicas, as
// variables of the model's Store under stateScope.
type optimizer struct {
	params      []*model.Variable   // Trainable weights, in Store order.
	acc         [][]*model.Variable // acc[r][i]: replica r's accumulated gradient of params[i].
	m1, m2      []*model.Variable   // Adam moments of params[i], float32.
	weightDecay float64
	maxGradNorm float64
	apply       *model.Exec
}

// newOptimizer creates the optimizer's variables (zeros) for every
// trainable variable of store that has a value.
func newOptimizer(m *Model, replicas int, weightDecay, maxGradNorm float64) (*optimizer, error) {
	o := &optimizer{weightDecay: weightDecay, maxGradNorm: maxGradNorm}
	for v := range m.Store.IterVariables() {
		if v.Trainable && !isStatePath(v.Path()) {
			if !v.HasValue() {
				return nil, fmt.Errorf("train: model variable %q has no value: load the checkpoint into the store before training", v.Path())
			}
			o.params = append(o.params, v)
		}
	}
	if len(o.params) == 0 {
		return nil, fmt.Errorf("train: the model's store has no trainable variables: load the checkpoint into it first")
	}
	state := func(path string, shape shapes.Shape) (*model.Variable, error) {
		shape = shape.Clone()
		shape.DType = dtypes.Float32
		v, err := m.Store.CreateVariable(path, tensors.FromShape(shape))
		if err != nil {
			return nil, err
		}
		v.SetTrainable(false)
		return v, nil
	}
	o.acc = make([][]*model.Variable, replicas)
	for _, p := range o.params {
		for r := range replicas {
			v, err := state(fmt.Sprintf("%s/grad%d%s", stateScope, r, p.Path()), p.Shape())
			if err != nil {
				return nil, err
			}
			o.acc[r] = append(o.acc[r], v)
		}
		m1, err := state(stateScope+"/adam_m1"+p.Path(), p.Shape())
		if err != nil {
			return nil, err
		}
		m2, err := state(stateScope+"/adam_m2"+p.Path(), p.Shape())
		if err != nil {
			return nil, err
		}
		o.m1, o.m2 = append(o.m1, m1), append(o.m2, m2)
	}
	var err error
	o.apply, err = model.NewExec(m.Backend, m.Store, o.applyGraph)
	if err != nil {
		return nil, err
	}
	return o, nil
}

func isStatePath(path string) bool {
	return len(path) >= len(stateScope) && path[:len(stateScope)] == stateScope
}

// accumulateGraph adds the gradients of loss w.r.t. every parameter to
// replica r's accumulators.
func (o *optimizer) accumulateGraph(g *Graph, r int, loss *Node) {
	nodes := make([]*Node, len(o.params))
	for i, p := range o.params {
		nodes[i] = p.NodeValue(g)
	}
	grads := Gradient(loss, nodes...)
	for i, grad := range grads {
		acc := o.acc[r][i]
		acc.SetNodeValue(Add(acc.NodeValue(g), ConvertDType(grad, dtypes.Float32)))
	}
}

// applyGraph sums the replicas' accumulated gradients (each already scaled
// so that the sum is the global batch's mean gradient), clips them to a
// global norm, takes one AdamW step, and zeroes the accumulators. Inputs:
// learning rate, step number (1-based), max norm (0: no clipping), all
// float32 scalars. Output: the global norm before clipping.
func (o *optimizer) applyGraph(_ *model.Scope, lr, step, maxNorm *Node) *Node {
	g := lr.Graph()
	grads := make([]*Node, len(o.params))
	squares := make([]*Node, len(o.params))
	sq := ScalarZero(g, dtypes.Float32)
	for i := range o.params {
		sum := o.acc[0][i].NodeValue(g)
		for r := 1; r < len(o.acc); r++ {
			sum = Add(sum, o.acc[r][i].NodeValue(g))
		}
		grads[i], squares[i] = sum, Square(sum)
		sq = Add(sq, ReduceAllSum(squares[i]))
	}
	norm := Sqrt(sq)
	coef := Where(GreaterThan(maxNorm, ScalarZero(g, dtypes.Float32)),
		Min(ScalarOne(g, dtypes.Float32), Div(maxNorm, AddScalar(norm, clipEpsilon))),
		ScalarOne(g, dtypes.Float32))
	bias1 := OneMinus(Pow(Scalar(g, dtypes.Float32, adamBeta1), step))
	bias2 := OneMinus(Pow(Scalar(g, dtypes.Float32, adamBeta2), step))
	stepSize := Div(lr, bias1)
	for i, p := range o.params {
		// Every op here is a pass over the parameter's size (25M floats
		// for bench/dpo's model): without clipping (fixed per run) the
		// gradient and its square are used as they are, two passes fewer
		// and the same numbers (coef is exactly 1).
		grad, square := grads[i], squares[i]
		if o.maxGradNorm > 0 {
			grad = Mul(grad, coef)
			square = Square(grad)
		}
		m1 := Add(MulScalar(o.m1[i].NodeValue(g), adamBeta1), MulScalar(grad, 1-adamBeta1))
		m2 := Add(MulScalar(o.m2[i].NodeValue(g), adamBeta2), MulScalar(square, 1-adamBeta2))
		o.m1[i].SetNodeValue(m1)
		o.m2[i].SetNodeValue(m2)
		value := p.NodeValue(g)
		dtype := value.DType()
		w := ConvertDType(value, dtypes.Float32)
		if o.weightDecay > 0 {
			// Decoupled weight decay on every parameter, as
			// torch.optim.AdamW(model.parameters()) in RLRR's dpo.py and
			// mle.py does: p ← p·(1 − lr·λ).
			w = Mul(w, OneMinus(MulScalar(lr, o.weightDecay)))
		}
		denom := AddScalar(Div(Sqrt(m2), Sqrt(bias2)), adamEpsilon)
		w = Sub(w, Mul(stepSize, Div(m1, denom)))
		p.SetNodeValue(ConvertDType(w, dtype))
		for r := range o.acc {
			o.acc[r][i].SetNodeValue(ZerosLike(o.acc[r][i].NodeValue(g)))
		}
	}
	return norm
}

// step applies one optimizer step and returns the gradient norm before
// clipping.
func (o *optimizer) step(lr float64, step int) (float64, error) {
	out, err := o.apply.Exec(float32(lr), float32(step), float32(o.maxGradNorm))
	if err != nil {
		return 0, fmt.Errorf("train: optimizer step %d: %w", step, err)
	}
	return float64(tensors.ToScalar[float32](out[0])), nil
}

// close deletes the optimizer's variables from the store.
func (o *optimizer) close(store *model.Store) error {
	return store.DeleteVariablesInScope(stateScope)
}
