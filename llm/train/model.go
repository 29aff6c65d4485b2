package train

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// LogitsFn builds a causal language model's forward pass. tokens is int32
// [batch, seq], right-padded (padding only ever follows the real tokens, so a
// causal model needs no attention mask); the result is float32 logits
// [batch, seq, vocab] where position t predicts token t+1.
type LogitsFn func(scope *model.Scope, tokens *graph.Node) *graph.Node

// Model is the policy being trained.
type Model struct {
	Backend compute.Backend // Runs every graph; the pure-Go one is compute.NewWithConfig("go:ops_sequential") (the default configuration can hang).
	Store   *model.Store    // Holds the weights as trainable variables with values; training updates them in place.
	Logits  LogitsFn        // Builds the forward pass on Store.RootScope().
}

// stateScope is where training keeps its own variables (gradient
// accumulators, Adam moments) inside Model.Store. They are deleted when
// training returns, so a caller reading the weights back sees only the model.
const stateScope = "/refeval_train"

func (m *Model) check() error {
	if m == nil || m.Backend == nil || m.Store == nil || m.Logits == nil {
		return fmt.Errorf("train: model needs a Backend, a Store and a Logits function")
	}
	return nil
}
