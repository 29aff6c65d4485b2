package llm

import (
	"fmt"
	"runtime"

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
// slices small enough for the small kernel with up to maxBatch rows of
// hidden states, copies them once into variables of store, and returns
// them in order (nil when one slice would hold every row, or on another
// backend). Each slice is [parts, rows, hidden]: the small kernel spreads
// a batched dot over the worker pool by its batch axis, so the parts run
// on parts cores; the rows left over make a last [rows, hidden] slice.
func headRows(store *model.Store, cfg checkpoint.Config, ts map[string]*checkpoint.Tensor, maxBatch int) ([]*model.Variable, error) {
	name := "lm_head.weight"
	if cfg.TieWordEmbeddings {
		name = "model.embed_tokens.weight"
	}
	w := ts[name]
	hidden, vocab := cfg.HiddenSize, cfg.VocabSize
	if w == nil || maxBatch*hidden*vocab < smallDot {
		return nil, nil
	}
	parts := max(1, min(runtime.GOMAXPROCS(0), 16))
	rows := (smallDot - 1) / (parts * maxBatch * hidden)
	if rows < 1 {
		parts, rows = 1, max(1, (smallDot-1)/(maxBatch*hidden))
	}
	var out []*model.Variable
	add := func(start int, dims ...int) error {
		n := 1
		for _, d := range dims {
			n *= d
		}
		// FromFlatDataAndDimensions copies the rows.
		v, err := store.CreateVariable(fmt.Sprintf("/refeval_lm_head/%06d", start), tensors.FromFlatDataAndDimensions(w.Data[start*hidden:start*hidden+n], dims...))
		if err != nil {
			return fmt.Errorf("splitting the lm_head: %w", err)
		}
		v.Trainable = false
		out = append(out, v)
		return nil
	}
	start := 0
	for ; start+parts*rows <= vocab; start += parts * rows {
		if err := add(start, parts, rows, hidden); err != nil {
			return nil, err
		}
	}
	if start < vocab {
		if err := add(start, vocab-start, hidden); err != nil {
			return nil, err
		}
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
	b := h.Shape().Dimensions[0]
	out := make([]*Node, len(m.head))
	for i, v := range m.head {
		slice := v.NodeValue(g)
		if slice.Rank() == 2 {
			out[i] = DotGeneral(h, []int{1}, nil, slice, []int{1}, nil)
			continue
		}
		parts, rows := slice.Shape().Dimensions[0], slice.Shape().Dimensions[1]
		hp := BroadcastToDims(InsertAxes(h, 0), parts, b, h.Shape().Dimensions[1])
		y := DotGeneral(hp, []int{2}, []int{0}, slice, []int{2}, []int{0}) // [parts, B, rows]
		if b > 1 {
			// With one row, [parts, 1, rows] already lies as [1, parts·rows]:
			// the transpose (an element-by-element copy of every logit,
			// a seventh of a decode step at 21M) is left out.
			y = TransposeAllDims(y, 1, 0, 2)
		}
		out[i] = Reshape(y, b, parts*rows)
	}
	return Concatenate(out, -1)
}
