package train

import (
	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/refeval/refeval/llm/checkpoint"
	"github.com/refeval/refeval/llm/transformer"
)

// TransformerModel returns the Model of a Qwen2/Llama decoder of cfg whose
// weights were loaded into the root scope of store with
// transformer.LoadIntoStore. After training, transformer.StoreTensors
// reads them back for checkpoint.Save.
func TransformerModel(b compute.Backend, store *model.Store, cfg checkpoint.Config) *Model {
	tr := transformer.New(cfg)
	return &Model{
		Backend: b,
		Store:   store,
		Logits: func(scope *model.Scope, tokens, valid *graph.Node) *graph.Node {
			return tr.Logits(transformer.VariableWeights(scope), tokens, valid)
		},
	}
}
