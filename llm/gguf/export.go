package gguf

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/refeval/refeval/internal/atomicfile"
	"github.com/refeval/refeval/llm/checkpoint"
)

// Options tunes Export.
type Options struct {
	Type Type   // Element type of the 2-D weights: F32 or F16 (norms, biases and rope factors stay F32).
	Name string // general.name; "" means the folder's base name.
	Pre  string // llama.cpp's pre-tokenizer name (tokenizer.ggml.pre); "" detects qwen2, llama-bpe or gpt-2.
}

// Export reads the Hugging Face checkpoint folder dir (config.json,
// safetensors, tokenizer.json and, when present, tokenizer_config.json)
// and returns a Builder holding the equivalent GGUF file.
func Export(dir string, opt Options) (*Builder, error) {
	ck, err := checkpoint.Load(dir)
	if err != nil {
		return nil, err
	}
	tok, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, fmt.Errorf("exporting %s: a GGUF file embeds the tokenizer: %w", dir, err)
	}
	tc, err := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("exporting %s: %w", dir, err)
	}
	if opt.Name == "" {
		abs, _ := filepath.Abs(dir)
		opt.Name = filepath.Base(abs)
	}
	b, err := Build(ck.Config, ck.Tensors, tok, tc, opt)
	if err != nil {
		return nil, fmt.Errorf("exporting %s: %w", dir, err)
	}
	return b, nil
}

// Build makes the GGUF file of a model: cfg and its tensors (Hugging Face
// names, float32), the bytes of its tokenizer.json and of its
// tokenizer_config.json (nil when it has none; the chat template is then
// refeval's ChatML one, as package llm uses).
func Build(cfg checkpoint.Config, tensors map[string]*checkpoint.Tensor, tokenizerJSON, tokenizerConfig []byte, opt Options) (*Builder, error) {
	arch, err := ggufArch(cfg)
	if err != nil {
		return nil, err
	}
	if opt.Type != F32 && opt.Type != F16 {
		return nil, fmt.Errorf("weight type %v: want f32 or f16", opt.Type)
	}
	if err := checkpoint.CheckShapes(cfg, tensors, "model weights"); err != nil {
		return nil, err
	}
	voc, err := parseVocab(tokenizerJSON, cfg.VocabSize, opt.Pre)
	if err != nil {
		return nil, fmt.Errorf("tokenizer.json: %w", err)
	}
	tc := map[string]any{}
	if tokenizerConfig != nil {
		if err := json.Unmarshal(tokenizerConfig, &tc); err != nil {
			return nil, fmt.Errorf("tokenizer_config.json: bad JSON: %v", err)
		}
	}

	b := NewBuilder()
	set := func(k string, v any) {
		if err == nil {
			err = b.Set(k, v)
		}
	}
	fileType := uint32(fileTypeAllF32)
	if opt.Type == F16 {
		fileType = fileTypeMostlyF16
	}
	set("general.architecture", arch)
	set("general.name", opt.Name)
	set("general.file_type", fileType)
	set("general.quantization_version", uint32(2))
	set(arch+".vocab_size", uint32(cfg.VocabSize))
	set(arch+".context_length", uint32(cfg.MaxPositionEmbeddings))
	set(arch+".embedding_length", uint32(cfg.HiddenSize))
	set(arch+".block_count", uint32(cfg.NumHiddenLayers))
	set(arch+".feed_forward_length", uint32(cfg.IntermediateSize))
	set(arch+".attention.head_count", uint32(cfg.NumAttentionHeads))
	set(arch+".attention.head_count_kv", uint32(cfg.NumKeyValueHeads))
	set(arch+".attention.key_length", uint32(cfg.HeadDim))
	set(arch+".attention.value_length", uint32(cfg.HeadDim))
	set(arch+".rope.dimension_count", uint32(cfg.HeadDim))
	set(arch+".rope.freq_base", float32(cfg.RopeTheta))
	set(arch+".attention.layer_norm_rms_epsilon", float32(cfg.RMSNormEps))
	if arch == "gemma3" {
		if cfg.SlidingWindow > 0 {
			set(arch+".attention.sliding_window", uint32(cfg.SlidingWindow))
			set(arch+".attention.sliding_window_pattern", uint32(checkpoint.SlidingPattern(cfg)))
			set(arch+".rope.freq_base_swa", float32(cfg.RopeLocalTheta))
		}
		if r := cfg.RopeScaling; r != nil {
			set(arch+".rope.scaling.type", "linear")
			set(arch+".rope.scaling.factor", float32(r.Factor))
		}
	}

	set("tokenizer.ggml.model", voc.Model)
	set("tokenizer.ggml.tokens", voc.Tokens)
	set("tokenizer.ggml.token_type", voc.Types)
	if voc.Model == "gpt2" {
		set("tokenizer.ggml.pre", voc.Pre)
		set("tokenizer.ggml.merges", voc.Merges)
	} else {
		set("tokenizer.ggml.scores", voc.Scores)
		set("tokenizer.ggml.add_space_prefix", voc.AddSpacePrefix)
		if id, ok := voc.IDs[checkpoint.TokenString(tc["unk_token"])]; ok {
			set("tokenizer.ggml.unknown_token_id", uint32(id))
		}
	}
	eos := -1
	if id, ok := voc.IDs[checkpoint.TokenString(tc["eos_token"])]; ok {
		eos = id
	} else if len(cfg.EOSTokenIDs) > 0 {
		eos = cfg.EOSTokenIDs[0]
	}
	bos := -1
	if id, ok := voc.IDs[checkpoint.TokenString(tc["bos_token"])]; ok {
		bos = id
	} else if cfg.BOSTokenID >= 0 {
		bos = cfg.BOSTokenID
	} else if id, ok := voc.IDs["<|endoftext|>"]; ok && voc.Model == "gpt2" {
		bos = id // Qwen2's converted files name it; llama.cpp adds it only when add_bos_token is true.
	}
	if bos >= 0 {
		set("tokenizer.ggml.bos_token_id", uint32(bos))
	}
	if eos >= 0 {
		set("tokenizer.ggml.eos_token_id", uint32(eos))
	}
	if id, ok := voc.IDs[checkpoint.TokenString(tc["pad_token"])]; ok {
		set("tokenizer.ggml.padding_token_id", uint32(id))
	}
	addBOS := voc.AddBOS
	if v, ok := tc["add_bos_token"].(bool); ok {
		addBOS = v
	}
	set("tokenizer.ggml.add_bos_token", addBOS && bos >= 0)
	template, _ := tc["chat_template"].(string)
	if template == "" {
		template = checkpoint.ChatMLTemplate
	}
	set("tokenizer.chat_template", template)
	if err != nil {
		return nil, err
	}
	if err := addTensors(b, cfg, tensors, opt.Type); err != nil {
		return nil, err
	}
	return b, nil
}

// WriteFile writes b to path through a temporary file in the same folder,
// renamed into place once complete.
func WriteFile(path string, b *Builder) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		_, err := b.WriteTo(w)
		return err
	})
}

// ggufArch returns llama.cpp's architecture name for cfg, or why it cannot
// be exported. Mistral is llama.cpp's llama (as convert_hf_to_gguf.py writes
// it), whose graph has no sliding window: export keeps the weights, and
// prompts longer than the window attend further back in llama.cpp.
func ggufArch(cfg checkpoint.Config) (string, error) {
	arch := ""
	switch cfg.Family() {
	case "qwen2", "qwen3", "llama":
		arch = cfg.Family()
	case "mistral":
		arch = "llama"
	case "gemma3":
		arch = "gemma3"
		hd := float64(cfg.HeadDim)
		if cfg.QueryPreAttnScalar != 0 && cfg.QueryPreAttnScalar != hd {
			return "", fmt.Errorf("gemma3 with query_pre_attn_scalar %v: llama.cpp scales queries by head_dim (%d)", cfg.QueryPreAttnScalar, cfg.HeadDim)
		}
		if cfg.SlidingWindow > 0 && checkpoint.SlidingPattern(cfg) == 0 {
			return "", fmt.Errorf("gemma3 with sliding layers %v: llama.cpp wants every P-th layer global (sliding_window_pattern)", cfg.SlidingLayers)
		}
	default:
		return "", fmt.Errorf("architecture %q: only qwen2, qwen3, llama, mistral and gemma3 can be exported", cfg.Architecture)
	}
	if cfg.AttentionBias && (arch == "qwen3" || arch == "gemma3") {
		return "", fmt.Errorf("%s with attention_bias: llama.cpp's %s loads no attention biases", arch, arch)
	}
	if cfg.RopeScaling != nil && cfg.RopeScaling.Type == "llama3" && arch != "llama" {
		return "", fmt.Errorf("model type %s with %s rope scaling: llama.cpp's %s reads no rope_freqs; only llama models with it can be exported", arch, cfg.RopeScaling.Type, arch)
	}
	if cfg.RopeScaling != nil && cfg.RopeScaling.Type == "linear" && arch != "gemma3" {
		return "", fmt.Errorf("model type %s with linear rope scaling is not exported", arch)
	}
	return arch, nil
}
