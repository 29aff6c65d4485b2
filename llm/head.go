package llm

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads as math.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/refeval/refeval/llm/checkpoint"
	"github.com/refeval/refeval/llm/transformer"
)

// smallDot is the size (batch × rows × columns × contracted, as the
// backend counts it) below which the pure-Go backend (gomlx/compute
// v0.1.6, internal/gobackend/dot/matmul) multiplies with its "small"
// kernel: a [rows, hidden] weight contracted on its last axis is read
// where it lies, row by row. At or above it the "large" kernel packs both
// operands into panels on every call: at decode, every token re-packed
// the whole lm_head, three times the bytes of reading it.
const smallDot = 4 * 1024 * 1024

// headRows splits the lm_head of a model on the pure-Go backend into
// slices of rows small enough for the small kernel with up to maxBatch
// rows of hidden states, copies them once into variables of store, and
// returns them in order (nil when one slice would hold every row, or on
// another backend).
func headRows(store *model.Store, cfg checkpoint.Config, ts map[string]*checkpoint.Tensor, maxBatch int) ([]*model.Variable, error) {
	name := "lm_head.weight"
	if cfg.TieWordEmbeddings {
		name = "model.embed_tokens.weight"
	}
	w := ts[name]
	hidden, vocab := cfg.HiddenSize, cfg.VocabSize
	rows := (smallDot - 1) / (maxBatch * hidden)
	if w == nil || rows < 1 || rows >= vocab {
		return nil, nil
	}
	var out []*model.Variable
	for start := 0; start < vocab; start += rows {
		n := min(rows, vocab-start)
		data := make([]float32, n*hidden)
		copy(data, w.Data[start*hidden:(start+n)*hidden])
		v, err := store.CreateVariable(fmt.Sprintf("/refeval_lm_head/%06d", start), tensors.FromFlatDataAndDimensions(data, n, hidden))
		if err != nil {
			return nil, fmt.Errorf("splitting the lm_head: %w", err)
		}
		v.Trainable = false
		out = append(out, v)
	}
	return out, nil
}

// lmHead projects hidden states h [B, hidden] to logits [B, vocab]: one
// dot per slice of m.head, each under the small kernel's limit, then
// concatenated. Without slices, or with more rows than they were cut for,
// it is the transformer's single matmul.
func (m *Model) lmHead(w transformer.Weights, h *Node) *Node {
	if len(m.head) == 0 || h.Rank() != 2 || h.Shape().Dimensions[0] > m.maxBatch {
		return m.tr.LMHead(w, h)
	}
	g := h.Graph()
	parts := make([]*Node, len(m.head))
	for i, v := range m.head {
		parts[i] = DotGeneral(h, []int{1}, nil, v.NodeValue(g), []int{1}, nil)
	}
	return Concatenate(parts, -1)
}
