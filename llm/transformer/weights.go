package transformer

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/refeval/refeval/llm/checkpoint"
)

// Weights returns the graph node holding the weight of the given Hugging
// Face name (such as "model.layers.0.self_attn.q_proj.weight") in graph g.
// Graph builders panic when a weight is missing, as GoMLX builders do.
type Weights func(g *Graph, name string) *Node

// VariableWeights reads weights from the variables of scope, one variable per
// Hugging Face name (as LoadIntoStore creates them). Gradients of a loss
// built on these nodes reach the variables.
func VariableWeights(scope *model.Scope) Weights {
	return func(g *Graph, name string) *Node {
		v := scope.GetVariable(name)
		if v == nil {
			panic(fmt.Sprintf("transformer: no variable %q in scope %q: load the checkpoint with LoadIntoStore first", name, scope.Scope()))
		}
		return v.NodeValue(g)
	}
}

// LoadIntoStore creates (or overwrites) one float32 variable in the root
// scope of store per checkpoint tensor, named by its Hugging Face name.
func LoadIntoStore(store *model.Store, ts map[string]*checkpoint.Tensor) error {
	scope := store.RootScope()
	for name, t := range ts {
		if t.Len() != len(t.Data) {
			return fmt.Errorf("tensor %q: shape %v holds %d values, got %d", name, t.Shape, t.Len(), len(t.Data))
		}
		value := tensors.FromFlatDataAndDimensions(t.Data, t.Shape...)
		if v := scope.GetVariable(name); v != nil {
			if !v.Shape().Equal(value.Shape()) {
				return fmt.Errorf("tensor %q: shape %v does not match the existing variable's %s", name, t.Shape, v.Shape())
			}
			if err := v.SetValue(value); err != nil {
				return fmt.Errorf("tensor %q: %w", name, err)
			}
			continue
		}
		if _, err := store.CreateVariable(model.JoinPath(scope.Scope(), name), value); err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
	}
	return nil
}

// StoreTensors reads the variables named by checkpoint.Shapes(cfg) from the
// root scope of store, for checkpoint.Save.
func StoreTensors(store *model.Store, cfg checkpoint.Config) (map[string]*checkpoint.Tensor, error) {
	scope := store.RootScope()
	out := map[string]*checkpoint.Tensor{}
	for name, shape := range checkpoint.Shapes(cfg) {
		v := scope.GetVariable(name)
		if v == nil {
			return nil, fmt.Errorf("no variable %q in the model store", name)
		}
		value, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("variable %q: %w", name, err)
		}
		if value.DType() != dtypes.Float32 {
			return nil, fmt.Errorf("variable %q has dtype %s, want float32", name, value.DType())
		}
		data, err := tensors.CopyFlatData[float32](value)
		if err != nil {
			return nil, fmt.Errorf("variable %q: %w", name, err)
		}
		t := &checkpoint.Tensor{Shape: append([]int{}, shape...), Data: data}
		if t.Len() != len(data) {
			return nil, fmt.Errorf("variable %q has shape %s, want %v", name, value.Shape(), shape)
		}
		out[name] = t
	}
	return out, nil
}
