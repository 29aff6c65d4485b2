package llm

import (
	"errors"
	"fmt"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/refeval/refeval/llm/transformer"
)

// errClosed is returned by the methods of a closed Model.
var errClosed = errors.New("llm: model is closed")

// exec returns the cached executor of key, making it with build on first
// use. model.Exec compiles once per distinct input shape and keeps it, and
// may be called from several goroutines. Callers read-hold m.mu.
func (m *Model) exec(key string, build func() (*model.Exec, error)) (*model.Exec, error) {
	m.execMu.Lock()
	defer m.execMu.Unlock()
	if m.execs == nil {
		return nil, errClosed
	}
	if e, ok := m.execs[key]; ok {
		return e, nil
	}
	e, err := build()
	if err != nil {
		return nil, err
	}
	e.SetMaxCache(-1) // Keep every bucket; they are few.
	if err := m.pin(e); err != nil {
		e.Finalize()
		return nil, err
	}
	m.execs[key] = e
	return e, nil
}

// scoreExec: tokens [B,S], mask [B,S], pos [B,R], targets [B,R] (Int32)
// → [B,R] log p(targets[b,r] | tokens[b,:pos[b,r]+1]). Only the R scored
// positions go through the lm_head and the log-sum-exp, so a long prompt
// costs its attention and MLP but not its [len, vocab] logits.
func (m *Model) scoreExec() (*model.Exec, error) {
	return m.exec("score", func() (*model.Exec, error) {
		return model.NewExec(m.backend, m.store, func(scope *model.Scope, tokens, mask, pos, targets *Node) *Node {
			m.compiles.Add(1)
			w := transformer.VariableWeights(scope)
			h := transformer.HiddenAt(m.tr.Hidden(w, tokens, mask), pos)  // [B,R,H]
			return transformer.TargetLogProbs(m.tr.LMHead(w, h), targets) // [B,R]
		})
	})
}

// nextTokenExec: right-padded tokens [B,S], mask [B,S] → [B,V] logits after
// each row's last token (normalized on the host, see prefillExec).
func (m *Model) nextTokenExec() (*model.Exec, error) {
	return m.exec("next", func() (*model.Exec, error) {
		return model.NewExec(m.backend, m.store, func(scope *model.Scope, tokens, mask *Node) *Node {
			m.compiles.Add(1)
			w := transformer.VariableWeights(scope)
			h := transformer.LastHidden(m.tr.Hidden(w, tokens, mask), mask)
			return m.lmHead(w, h)
		})
	})
}

// prefillExec: right-padded tokens [B,S], mask [B,S] → [B,V] logits, then
// the cache of cacheLen positions. Generation normalizes the logits on the
// host (logSumExp), 3× faster than the backend's LogSoftmax over a 150k
// vocabulary.
func (m *Model) prefillExec(cacheLen int) (*model.Exec, error) {
	return m.exec(fmt.Sprintf("prefill/%d", cacheLen), func() (*model.Exec, error) {
		return model.NewExec(m.backend, m.store, func(scope *model.Scope, in []*Node) []*Node {
			m.compiles.Add(1)
			w := transformer.VariableWeights(scope)
			h, cache := m.tr.Prefill(w, in[0], in[1], cacheLen)
			return append([]*Node{m.lmHead(w, h)}, cache.Nodes()...)
		})
	})
}

// decodeExec: tokens [B], pos [B], cache… → [B,V] logits, then the updated cache.
func (m *Model) decodeExec() (*model.Exec, error) {
	return m.exec("decode", func() (*model.Exec, error) {
		return model.NewExec(m.backend, m.store, func(scope *model.Scope, in []*Node) []*Node {
			m.compiles.Add(1)
			w := transformer.VariableWeights(scope)
			h, cache := m.tr.DecodeStep(w, in[0], in[1], transformer.CacheFromNodes(in[2:]))
			return append([]*Node{m.lmHead(w, h)}, cache.Nodes()...)
		})
	})
}

// padded builds right-padded [rows][length] token and mask arrays; rows
// beyond len(seqs) hold one token 0 so that every row has a real token.
func padded(seqs [][]int, rows, length int) ([][]int32, [][]bool) {
	toks, mask := grid[int32](rows, length), grid[bool](rows, length)
	for i := range mask {
		if i >= len(seqs) {
			mask[i][0] = true
			continue
		}
		for j, t := range seqs[i] {
			toks[i][j] = int32(t)
			mask[i][j] = true
		}
	}
	return toks, mask
}

// grid returns rows × n zero values, a graph input of that shape.
func grid[T any](rows, n int) [][]T {
	out := make([][]T, rows)
	for i := range out {
		out[i] = make([]T, n)
	}
	return out
}

// finalize releases the outputs of a graph call once they are copied out.
func finalize(ts []*tensors.Tensor) {
	for _, t := range ts {
		t.FinalizeAll()
	}
}

// rowsOf splits a [rows, n] float32 tensor into rows.
func rowsOf(t *tensors.Tensor) ([][]float32, error) {
	flat, err := tensors.CopyFlatData[float32](t)
	if err != nil {
		return nil, err
	}
	dims := t.Shape().Dimensions
	out := make([][]float32, dims[0])
	n := len(flat) / dims[0]
	for i := range out {
		out[i] = flat[i*n : (i+1)*n]
	}
	return out, nil
}
