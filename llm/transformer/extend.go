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
	preOK := LessThan(Iota(g, shapes.Make(dtypes.Int32, p), 0), BroadcastToDims(plen, p)) // [P]
	preAllowed := BroadcastToDims(Reshape(preOK, 1, 1, 1, 1, p), b, 1, 1, s, p)
	kpos := Concatenate([]*Node{BroadcastToDims(InsertAxes(Iota(g, shapes.Make(dtypes.Int32, p), 0), 0), b, p), qpos}, 1) // [b, P+s]
	a := t.allowedAt(Concatenate([]*Node{preAllowed, causal(mask)}, 4), qpos, kpos)                                       // [b, 1, 1, s, P+s]
	h := t.decoder(w, x, qpos, a, prefixCache{prefix})
	return LastHidden(h, mask)
}

// prefixCache puts one shared prefix's keys and values [1, kv, P, d] before
// every row's own.
type prefixCache struct{ prefix Cache }

func (c prefixCache) keysValues(l int, k, v *Node) (*Node, *Node) {
	dims := k.Shape().Clone().Dimensions
	dims[2] = c.prefix.K[l].Shape().Dimensions[2]
	return Concatenate([]*Node{BroadcastToDims(c.prefix.K[l], dims...), k}, 2),
		Concatenate([]*Node{BroadcastToDims(c.prefix.V[l], dims...), v}, 2)
}
