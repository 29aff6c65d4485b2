package transformer

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
)

// Extend runs right-padded continuations tokens [batch, seq] (Int32) with
// mask [batch, seq] (Bool) of one shared prefix whose keys and values are
// in prefix (each [1, kv_heads, P, head_dim], as Prefill of a single row
// returns them; real at positions < prefixLen, a scalar Int32). Each row's
// tokens sit at positions prefixLen, prefixLen+1, …, attend to the real
// prefix positions and causally to their own row, and the prefix is
// computed once for all rows. It returns the final hidden state at each
// row's last real token [batch, hidden]: the same as Prefill over the
// concatenated prefix and row, up to float rounding.
func (t *Transformer) Extend(w Weights, tokens, mask, prefixLen *Node, prefix Cache) *Node {
	cfg := t.cfg
	g := tokens.Graph()
	b, s := tokens.Shape().Dimensions[0], tokens.Shape().Dimensions[1]
	if len(prefix.K) != cfg.NumHiddenLayers || len(prefix.V) != cfg.NumHiddenLayers {
		panic(fmt.Sprintf("transformer: prefix cache has %d/%d layers, the model %d", len(prefix.K), len(prefix.V), cfg.NumHiddenLayers))
	}
	p := prefix.K[0].Shape().Dimensions[2]
	x := t.embed(w, g, InsertAxes(tokens, -1)) // [b, s, hidden]
	plen := ConvertDType(prefixLen, dtypes.Int32)
	qpos := Add(Positions(mask), BroadcastToDims(plen, b, s))
	r := t.ropesAt(qpos)
	preOK := LessThan(Iota(g, shapes.Make(dtypes.Int32, p), 0), BroadcastToDims(plen, p)) // [P]
	preAllowed := BroadcastToDims(Reshape(preOK, 1, 1, 1, 1, p), b, 1, 1, s, p)
	qi := Iota(g, shapes.Make(dtypes.Int32, s, s), 0)
	ki := Iota(g, shapes.Make(dtypes.Int32, s, s), 1)
	causal := Reshape(LessOrEqual(ki, qi), 1, 1, 1, s, s)
	keyOK := Reshape(mask, b, 1, 1, 1, s)
	ownAllowed := LogicalAnd(BroadcastToDims(causal, b, 1, 1, s, s), BroadcastToDims(keyOK, b, 1, 1, s, s))
	allowed := Concatenate([]*Node{preAllowed, ownAllowed}, 4) // [b, 1, 1, s, P+s]
	allowedLocal := allowed
	if t.anySliding() {
		kpos := Concatenate([]*Node{BroadcastToDims(InsertAxes(Iota(g, shapes.Make(dtypes.Int32, p), 0), 0), b, p), qpos}, 1) // [b, P+s]
		allowedLocal = LogicalAnd(allowed, t.window(qpos, kpos))
	}
	for l := 0; l < cfg.NumHiddenLayers; l++ {
		x = t.layer(w, l, x, r, func(name string, q, k, v *Node, local bool) *Node {
			kk := Concatenate([]*Node{BroadcastToDims(prefix.K[l], b, cfg.NumKeyValueHeads, p, cfg.HeadDim), k}, 2)
			vv := Concatenate([]*Node{BroadcastToDims(prefix.V[l], b, cfg.NumKeyValueHeads, p, cfg.HeadDim), v}, 2)
			if local {
				return t.attention(w, name, q, kk, vv, allowedLocal)
			}
			return t.attention(w, name, q, kk, vv, allowed)
		})
	}
	return LastHidden(t.rmsNorm(x, w(g, "model.norm.weight")), mask)
}
