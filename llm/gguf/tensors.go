package gguf

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/refeval/refeval/llm/checkpoint"
	"github.com/refeval/refeval/llm/transformer"
)

// layerNames maps the Hugging Face name of a layer tensor (after
// "model.layers.N.") to llama.cpp's (after "blk.N.").
var layerNames = map[string]string{
	"input_layernorm.weight":          "attn_norm.weight",
	"self_attn.q_proj.weight":         "attn_q.weight",
	"self_attn.q_proj.bias":           "attn_q.bias",
	"self_attn.k_proj.weight":         "attn_k.weight",
	"self_attn.k_proj.bias":           "attn_k.bias",
	"self_attn.v_proj.weight":         "attn_v.weight",
	"self_attn.v_proj.bias":           "attn_v.bias",
	"self_attn.o_proj.weight":         "attn_output.weight",
	"self_attn.o_proj.bias":           "attn_output.bias",
	"post_attention_layernorm.weight": "ffn_norm.weight",
	"self_attn.q_norm.weight":         "attn_q_norm.weight",
	"self_attn.k_norm.weight":         "attn_k_norm.weight",
	"mlp.gate_proj.weight":            "ffn_gate.weight",
	"mlp.up_proj.weight":              "ffn_up.weight",
	"mlp.down_proj.weight":            "ffn_down.weight",
}

// gemmaNames are Gemma 3's layer norms, whose roles differ from Llama's:
// post_attention_layernorm normalizes the attention output, and the MLP
// has its own norms before and after.
var gemmaNames = map[string]string{
	"post_attention_layernorm.weight":   "post_attention_norm.weight",
	"pre_feedforward_layernorm.weight":  "ffn_norm.weight",
	"post_feedforward_layernorm.weight": "post_ffw_norm.weight",
}

// TensorName returns llama.cpp's name of a Hugging Face tensor
// (model.layers.3.self_attn.q_proj.weight → blk.3.attn_q.weight), or
// false for a tensor llama.cpp does not know. Gemma 3's norms are named by
// GemmaTensorName.
func TensorName(hf string) (string, bool) {
	return tensorName(hf, false)
}

// GemmaTensorName is TensorName for Gemma 3 checkpoints.
func GemmaTensorName(hf string) (string, bool) {
	return tensorName(hf, true)
}

func tensorName(hf string, gemma bool) (string, bool) {
	switch hf {
	case "model.embed_tokens.weight":
		return "token_embd.weight", true
	case "model.norm.weight":
		return "output_norm.weight", true
	case "lm_head.weight":
		return "output.weight", true
	}
	rest, ok := strings.CutPrefix(hf, "model.layers.")
	if !ok {
		return "", false
	}
	num, suffix, ok := strings.Cut(rest, ".")
	if !ok {
		return "", false
	}
	if _, err := strconv.Atoi(num); err != nil {
		return "", false
	}
	name, ok := layerNames[suffix]
	if g, isGemma := gemmaNames[suffix]; gemma && isGemma {
		name, ok = g, true
	}
	if !ok {
		return "", false
	}
	return "blk." + num + "." + name, true
}

// permuteRows reorders the rows of a query or key projection (weight
// [heads*headDim, in] or bias [heads*headDim]) from Hugging Face's
// rotate-half RoPE layout to the adjacent-pair layout llama.cpp's llama
// architecture rotates: within each head, row s*headDim/2+j moves to
// 2j+s, as convert_hf_to_gguf.py's LlamaModel.permute does.
func permuteRows(data []float32, heads, headDim int) []float32 {
	rows := heads * headDim
	width := len(data) / rows
	out := make([]float32, len(data))
	half := headDim / 2
	for h := 0; h < heads; h++ {
		for s := 0; s < 2; s++ {
			for j := 0; j < half; j++ {
				src := h*headDim + s*half + j
				dst := h*headDim + 2*j + s
				copy(out[dst*width:(dst+1)*width], data[src*width:(src+1)*width])
			}
		}
	}
	return out
}

// ropeFactors returns llama.cpp's rope_freqs.weight for a configuration
// with Llama-3 frequency scaling: per frequency, the unscaled frequency
// divided by the scaled one (llama.cpp divides its angle by it).
func ropeFactors(cfg checkpoint.Config) []float32 {
	scaled := transformer.InvFreq(cfg)
	out := make([]float32, len(scaled))
	for i, f := range scaled {
		base := 1 / math.Pow(cfg.RopeTheta, float64(2*i)/float64(cfg.HeadDim))
		out[i] = float32(base / f)
	}
	return out
}

// addTensors adds the checkpoint's tensors under llama.cpp's names, in
// llama.cpp's order (embeddings, layers, final norm, output), permuted for
// llama, 2-D weights as typ and 1-D ones as F32.
func addTensors(b *Builder, cfg checkpoint.Config, tensors map[string]*checkpoint.Tensor, typ Type) error {
	var order []string
	order = append(order, "model.embed_tokens.weight")
	for i := 0; i < cfg.NumHiddenLayers; i++ {
		p := "model.layers." + strconv.Itoa(i) + "."
		for _, s := range []string{"input_layernorm.weight",
			"self_attn.q_proj.weight", "self_attn.q_proj.bias",
			"self_attn.k_proj.weight", "self_attn.k_proj.bias",
			"self_attn.v_proj.weight", "self_attn.v_proj.bias",
			"self_attn.q_norm.weight", "self_attn.k_norm.weight",
			"self_attn.o_proj.weight", "self_attn.o_proj.bias", "post_attention_layernorm.weight", "pre_feedforward_layernorm.weight",
			"mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight", "post_feedforward_layernorm.weight"} {
			if _, ok := tensors[p+s]; ok {
				order = append(order, p+s)
			}
		}
	}
	order = append(order, "model.norm.weight")
	if !cfg.TieWordEmbeddings {
		order = append(order, "lm_head.weight")
	}
	llama := cfg.Family() == "llama" || cfg.Family() == "mistral"
	if llama && cfg.RopeScaling != nil {
		f := ropeFactors(cfg)
		if err := b.AddTensor("rope_freqs.weight", []int{len(f)}, F32, f); err != nil {
			return err
		}
	}
	for _, hf := range order {
		t, ok := tensors[hf]
		if !ok {
			return fmt.Errorf("missing tensor %s", hf)
		}
		name, _ := tensorName(hf, cfg.Gemma)
		data := t.Data
		if cfg.Gemma && strings.HasSuffix(hf, "norm.weight") {
			// Gemma scales by 1 + w; llama.cpp's RMSNorm by w, so the
			// converter adds 1, as convert_hf_to_gguf.py's Gemma3Model does.
			data = make([]float32, len(t.Data))
			for i, v := range t.Data {
				data[i] = v + 1
			}
		}
		if llama {
			switch {
			case strings.Contains(hf, "q_proj."):
				data = permuteRows(data, cfg.NumAttentionHeads, cfg.HeadDim)
			case strings.Contains(hf, "k_proj."):
				data = permuteRows(data, cfg.NumKeyValueHeads, cfg.HeadDim)
			}
		}
		tt := typ
		if len(t.Shape) < 2 {
			tt = F32
		}
		if err := b.AddTensor(name, t.Shape, tt, data); err != nil {
			return err
		}
	}
	return nil
}
