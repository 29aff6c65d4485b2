package transformer

import (
	"fmt"
	"maps"
	"slices"

	"github.com/refeval/refeval/llm/checkpoint"
)

// fusedQKV names, after a layer's prefix, the weight [q+2·kv, hidden]
// (and bias) that FuseQKV makes from its q, k and v projections.
const fusedQKV = "self_attn.qkv_proj."

// FuseQKV returns ts with each layer's q, k and v projection weights (and
// biases) replaced by their concatenation along the output axis, under
// model.layers.N.self_attn.qkv_proj.weight (and .bias), as a Transformer
// made WithFusedQKV reads them. The other tensors are shared with ts.
// One product of [q+2·kv] outputs instead of three packs the activations
// once and, for a small model's prompt, crosses the pure-Go backend's
// threshold into its blocked kernel (llm/head.go names it).
func FuseQKV(cfg checkpoint.Config, ts map[string]*checkpoint.Tensor) (map[string]*checkpoint.Tensor, error) {
	out := maps.Clone(ts)
	suffixes := []string{"weight"}
	if cfg.AttentionBias {
		suffixes = append(suffixes, "bias")
	}
	for l := range cfg.NumHiddenLayers {
		p := fmt.Sprintf("model.layers.%d.", l)
		for _, suffix := range suffixes {
			var data []float32
			rows := 0
			var rest []int
			for _, proj := range []string{"q_proj.", "k_proj.", "v_proj."} {
				name := p + "self_attn." + proj + suffix
				t := ts[name]
				if t == nil {
					return nil, fmt.Errorf("fusing q, k and v: no tensor %s", name)
				}
				if rows > 0 && !slices.Equal(t.Shape[1:], rest) {
					return nil, fmt.Errorf("fusing q, k and v: %s has shape %v, want [*%v]", name, t.Shape, rest)
				}
				rows, rest = rows+t.Shape[0], t.Shape[1:]
				data = append(data, t.Data...)
				delete(out, name)
			}
			out[p+fusedQKV+suffix] = &checkpoint.Tensor{Shape: append([]int{rows}, rest...), Data: data}
		}
	}
	return out, nil
}

// WithFusedQKV returns a copy of t whose layers read the q, k and v
// projections as the one weight FuseQKV makes, computing one product and
// slicing q, k and v from it.
func (t *Transformer) WithFusedQKV() *Transformer {
	c := *t
	c.fusedQKV = true
	return &c
}
