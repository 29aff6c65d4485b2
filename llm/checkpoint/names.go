package checkpoint

import "fmt"

// Shapes returns every tensor a model with cfg holds, by Hugging Face name,
// with its shape. lm_head.weight is absent when the embeddings are tied.
func Shapes(cfg Config) map[string][]int {
	h, inter, v := cfg.HiddenSize, cfg.IntermediateSize, cfg.VocabSize
	q, kv := cfg.NumAttentionHeads*cfg.HeadDim, cfg.NumKeyValueHeads*cfg.HeadDim
	m := map[string][]int{
		"model.embed_tokens.weight": {v, h},
		"model.norm.weight":         {h},
	}
	if !cfg.TieWordEmbeddings {
		m["lm_head.weight"] = []int{v, h}
	}
	for i := 0; i < cfg.NumHiddenLayers; i++ {
		p := fmt.Sprintf("model.layers.%d.", i)
		m[p+"input_layernorm.weight"] = []int{h}
		m[p+"post_attention_layernorm.weight"] = []int{h}
		m[p+"self_attn.q_proj.weight"] = []int{q, h}
		m[p+"self_attn.k_proj.weight"] = []int{kv, h}
		m[p+"self_attn.v_proj.weight"] = []int{kv, h}
		m[p+"self_attn.o_proj.weight"] = []int{h, q}
		if cfg.AttentionBias {
			m[p+"self_attn.q_proj.bias"] = []int{q}
			m[p+"self_attn.k_proj.bias"] = []int{kv}
			m[p+"self_attn.v_proj.bias"] = []int{kv}
		}
		if cfg.OutputBias() {
			m[p+"self_attn.o_proj.bias"] = []int{h}
		}
		if cfg.QKNorm {
			m[p+"self_attn.q_norm.weight"] = []int{cfg.HeadDim}
			m[p+"self_attn.k_norm.weight"] = []int{cfg.HeadDim}
		}
		if cfg.Gemma {
			m[p+"pre_feedforward_layernorm.weight"] = []int{h}
			m[p+"post_feedforward_layernorm.weight"] = []int{h}
		}
		m[p+"mlp.gate_proj.weight"] = []int{inter, h}
		m[p+"mlp.up_proj.weight"] = []int{inter, h}
		m[p+"mlp.down_proj.weight"] = []int{h, inter}
	}
	return m
}

// NumParams returns the number of parameters of a model with cfg (tied
// embeddings counted once).
func NumParams(cfg Config) int64 {
	h, inter, v := int64(cfg.HiddenSize), int64(cfg.IntermediateSize), int64(cfg.VocabSize)
	q, kv := int64(cfg.NumAttentionHeads*cfg.HeadDim), int64(cfg.NumKeyValueHeads*cfg.HeadDim)
	layer := 2*h + q*h + 2*kv*h + h*q + 3*inter*h
	if cfg.AttentionBias {
		layer += q + 2*kv
	}
	if cfg.OutputBias() {
		layer += h
	}
	if cfg.QKNorm {
		layer += 2 * int64(cfg.HeadDim)
	}
	if cfg.Gemma {
		layer += 2 * h
	}
	n := v*h + h + int64(cfg.NumHiddenLayers)*layer
	if !cfg.TieWordEmbeddings {
		n += v * h
	}
	return n
}

// CheckShapes reports the first tensor of Shapes(cfg) that is missing from
// tensors or has another shape; where names the file(s) for the message.
func CheckShapes(cfg Config, tensors map[string]*Tensor, where string) error {
	for _, name := range sortedKeys(Shapes(cfg)) {
		want := Shapes(cfg)[name]
		t, ok := tensors[name]
		if !ok {
			return fmt.Errorf("%s: missing tensor %q (shape %v) that config.json implies; the checkpoint does not match its config", where, name, want)
		}
		if !equalInts(t.Shape, want) {
			return fmt.Errorf("%s: tensor %q has shape %v, config.json implies %v", where, name, t.Shape, want)
		}
		if len(t.Data) != t.Len() {
			return fmt.Errorf("%s: tensor %q has shape %v but %d values", where, name, t.Shape, len(t.Data))
		}
	}
	return nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
