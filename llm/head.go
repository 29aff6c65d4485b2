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
// it is the transformer's single matmul. With slices and more than one
// row, each slice's logits stay in the order the dot leaves them, [parts,
// B, rows], under the shape [B, parts·rows]: logitRows puts the rows
// together on the host, copying runs of rows logits, where a transpose in
// the graph moved every logit on its own (a tenth of a batch-8 decode
// step's CPU at 21M).
func (m *Model) lmHead(w transformer.Weights, h *Node) *Node {
	if !m.slicedHead(h.Rank(), h.Shape().Dimensions[0]) {
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
		out[i] = Reshape(y, b, parts*rows)
	}
	return Concatenate(out, -1)
}

// slicedHead reports whether lmHead runs the slices for hidden states of
// the given rank and number of rows.
func (m *Model) slicedHead(rank, rows int) bool {
	return len(m.head) > 0 && rank == 2 && rows <= m.maxBatch
}

// logitRows copies the logits [B, vocab] of a graph ending in lmHead out
// of t, one row each, in vocabulary order.
func (m *Model) logitRows(t *tensors.Tensor) ([][]float32, error) {
	rows, err := rowsOf(t)
	if err != nil {
		return nil, err
	}
	b := len(rows)
	if b < 2 || !m.slicedHead(t.Rank(), b) {
		return rows, nil
	}
	// rows[r][off:off+parts·n] over r is, end to end, slice i's [parts, B, n].
	var buf []float32
	off := 0
	for _, v := range m.head {
		d := v.Shape().Dimensions
		if len(d) == 2 {
			off += d[0]
			continue
		}
		parts, n := d[0], d[1]
		buf = buf[:0]
		for r := range rows {
			buf = append(buf, rows[r][off:off+parts*n]...)
		}
		for r := range rows {
			for p := range parts {
				copy(rows[r][off+p*n:off+(p+1)*n], buf[(p*b+r)*n:(p*b+r+1)*n])
			}
		}
		off += parts * n
	}
	return rows, nil
}
