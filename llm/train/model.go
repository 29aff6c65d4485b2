package train

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// LogitsFn builds a causal language model's forward pass. tokens is int32
// [batch, seq], right-padded; valid is bool [batch, seq], true on real
// tokens (a padding row has none). The result is float32 logits
// [batch, seq, vocab] where position t predicts token t+1; logits at
// padding positions are ignored. transformer.Transformer.Logits with
// transformer.VariableWeights(scope) has this form (see TransformerModel).
type LogitsFn func(scope *model.Scope, tokens, valid *graph.Node) *graph.Node

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
