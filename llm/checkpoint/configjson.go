package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/refeval/refeval/internal/atomicfile"
)

// Supported architectures (config.json "architectures"[0]).
const (
	ArchQwen2 = "Qwen2ForCausalLM"
	ArchLlama = "LlamaForCausalLM"
)

// hfConfig is config.json as transformers writes it for Qwen2 and Llama.
// Pointers distinguish an absent key from a zero value.
type hfConfig struct {
	Architectures         []string        `json:"architectures"`
	ModelType             string          `json:"model_type"`
	HiddenSize            int             `json:"hidden_size"`
	IntermediateSize      int             `json:"intermediate_size"`
	NumHiddenLayers       int             `json:"num_hidden_layers"`
	NumAttentionHeads     int             `json:"num_attention_heads"`
	NumKeyValueHeads      *int            `json:"num_key_value_heads,omitempty"`
	HeadDim               *int            `json:"head_dim,omitempty"`
	VocabSize             int             `json:"vocab_size"`
	MaxPositionEmbeddings int             `json:"max_position_embeddings"`
	RMSNormEps            float64         `json:"rms_norm_eps"`
	RopeTheta             float64         `json:"rope_theta"`
	RopeScaling           *hfRopeScaling  `json:"rope_scaling"`
	TieWordEmbeddings     *bool           `json:"tie_word_embeddings,omitempty"`
	AttentionBias         *bool           `json:"attention_bias,omitempty"`
	BOSTokenID            json.RawMessage `json:"bos_token_id,omitempty"`
	EOSTokenID            json.RawMessage `json:"eos_token_id,omitempty"`
	TorchDType            string          `json:"torch_dtype,omitempty"`
	HiddenAct             string          `json:"hidden_act"`
	UseCache              bool            `json:"use_cache"`
	TransformersVersion   string          `json:"transformers_version,omitempty"`
	// Qwen2-only keys that transformers and vLLM expect to find.
	UseSlidingWindow *bool    `json:"use_sliding_window,omitempty"`
	SlidingWindow    *int     `json:"sliding_window,omitempty"`
	MaxWindowLayers  *int     `json:"max_window_layers,omitempty"`
	AttentionDropout *float64 `json:"attention_dropout,omitempty"`
	// Llama-only keys.
	MLPBias       *bool `json:"mlp_bias,omitempty"`
	PretrainingTP *int  `json:"pretraining_tp,omitempty"`
}

type hfRopeScaling struct {
	RopeType                      string  `json:"rope_type,omitempty"`
	Type                          string  `json:"type,omitempty"`
	Factor                        float64 `json:"factor"`
	LowFreqFactor                 float64 `json:"low_freq_factor"`
	HighFreqFactor                float64 `json:"high_freq_factor"`
	OriginalMaxPositionEmbeddings int     `json:"original_max_position_embeddings"`
}

// ReadConfig reads dir/config.json and, when present,
// dir/generation_config.json (whose eos_token_id wins), and checks that the
// architecture is supported and the sizes are consistent.
func ReadConfig(dir string) (Config, error) {
	path := filepath.Join(dir, "config.json")
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("reading model config: %w", err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	gpath := filepath.Join(dir, "generation_config.json")
	gdata, err := os.ReadFile(gpath)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return Config{}, fmt.Errorf("reading generation config: %w", err)
	default:
		var gc struct {
			EOSTokenID json.RawMessage `json:"eos_token_id"`
		}
		if err := json.Unmarshal(gdata, &gc); err != nil {
			return Config{}, fmt.Errorf("%s: bad JSON: %v; fix or delete the file", gpath, err)
		}
		if len(gc.EOSTokenID) > 0 {
			ids, err := intOrList(gc.EOSTokenID)
			if err != nil {
				return Config{}, fmt.Errorf("%s: eos_token_id: %v", gpath, err)
			}
			cfg.EOSTokenIDs = ids
		}
	}
	return cfg, nil
}

// ParseConfig parses the contents of a config.json.
func ParseConfig(data []byte) (Config, error) {
	var h hfConfig
	if err := json.Unmarshal(data, &h); err != nil {
		return Config{}, fmt.Errorf("bad JSON: %v", err)
	}
	if len(h.Architectures) == 0 {
		return Config{}, fmt.Errorf("no \"architectures\" key; refeval supports %s and %s", ArchQwen2, ArchLlama)
	}
	cfg := Config{
		Architecture:          h.Architectures[0],
		ModelType:             h.ModelType,
		HiddenSize:            h.HiddenSize,
		IntermediateSize:      h.IntermediateSize,
		NumHiddenLayers:       h.NumHiddenLayers,
		NumAttentionHeads:     h.NumAttentionHeads,
		NumKeyValueHeads:      h.NumAttentionHeads,
		VocabSize:             h.VocabSize,
		MaxPositionEmbeddings: h.MaxPositionEmbeddings,
		RMSNormEps:            h.RMSNormEps,
		RopeTheta:             h.RopeTheta,
		TieWordEmbeddings:     h.TieWordEmbeddings != nil && *h.TieWordEmbeddings,
		BOSTokenID:            -1,
		TorchDType:            h.TorchDType,
	}
	switch cfg.Architecture {
	case ArchQwen2:
		cfg.AttentionBias = true // Qwen2 always has q/k/v biases.
	case ArchLlama:
		cfg.AttentionBias = h.AttentionBias != nil && *h.AttentionBias
		if h.MLPBias != nil && *h.MLPBias {
			return Config{}, fmt.Errorf("mlp_bias=true is not supported")
		}
	default:
		return Config{}, fmt.Errorf("unsupported architecture %q; refeval supports %s and %s", cfg.Architecture, ArchQwen2, ArchLlama)
	}
	if h.HiddenAct != "" && h.HiddenAct != "silu" {
		return Config{}, fmt.Errorf("unsupported hidden_act %q (want silu)", h.HiddenAct)
	}
	if h.NumKeyValueHeads != nil {
		cfg.NumKeyValueHeads = *h.NumKeyValueHeads
	}
	if cfg.RopeTheta == 0 {
		cfg.RopeTheta = 10000
	}
	if cfg.RMSNormEps == 0 {
		cfg.RMSNormEps = 1e-6
	}
	if cfg.TorchDType == "" {
		cfg.TorchDType = "float32"
	}
	if h.RopeScaling != nil {
		t := h.RopeScaling.RopeType
		if t == "" {
			t = h.RopeScaling.Type
		}
		if t != "llama3" {
			return Config{}, fmt.Errorf("unsupported rope_scaling type %q (only llama3 is supported)", t)
		}
		cfg.RopeScaling = &RopeScaling{
			Type:                          t,
			Factor:                        h.RopeScaling.Factor,
			LowFreqFactor:                 h.RopeScaling.LowFreqFactor,
			HighFreqFactor:                h.RopeScaling.HighFreqFactor,
			OriginalMaxPositionEmbeddings: h.RopeScaling.OriginalMaxPositionEmbeddings,
		}
	}
	if len(h.BOSTokenID) > 0 && string(h.BOSTokenID) != "null" {
		ids, err := intOrList(h.BOSTokenID)
		if err != nil || len(ids) != 1 {
			return Config{}, fmt.Errorf("bos_token_id: want one integer, got %s", h.BOSTokenID)
		}
		cfg.BOSTokenID = ids[0]
	}
	if len(h.EOSTokenID) > 0 {
		ids, err := intOrList(h.EOSTokenID)
		if err != nil {
			return Config{}, fmt.Errorf("eos_token_id: %v", err)
		}
		cfg.EOSTokenIDs = ids
	}
	cfg.HeadDim = 0
	if h.HeadDim != nil {
		cfg.HeadDim = *h.HeadDim
	}
	if cfg.HeadDim == 0 && cfg.NumAttentionHeads > 0 {
		cfg.HeadDim = cfg.HiddenSize / cfg.NumAttentionHeads
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate checks that the sizes make a well-formed model.
func (c Config) Validate() error {
	pos := []struct {
		name string
		v    int
	}{
		{"hidden_size", c.HiddenSize},
		{"intermediate_size", c.IntermediateSize},
		{"num_hidden_layers", c.NumHiddenLayers},
		{"num_attention_heads", c.NumAttentionHeads},
		{"num_key_value_heads", c.NumKeyValueHeads},
		{"head_dim", c.HeadDim},
		{"vocab_size", c.VocabSize},
	}
	for _, p := range pos {
		if p.v <= 0 {
			return fmt.Errorf("%s must be positive, got %d", p.name, p.v)
		}
	}
	if c.NumAttentionHeads%c.NumKeyValueHeads != 0 {
		return fmt.Errorf("num_attention_heads (%d) must be a multiple of num_key_value_heads (%d)", c.NumAttentionHeads, c.NumKeyValueHeads)
	}
	if c.HeadDim%2 != 0 {
		return fmt.Errorf("head_dim must be even for RoPE, got %d", c.HeadDim)
	}
	if r := c.RopeScaling; r != nil && (r.Factor <= 0 || r.LowFreqFactor <= 0 || r.HighFreqFactor <= r.LowFreqFactor || r.OriginalMaxPositionEmbeddings <= 0) {
		return fmt.Errorf("rope_scaling: need factor > 0, 0 < low_freq_factor < high_freq_factor and original_max_position_embeddings > 0, got %+v", *r)
	}
	switch c.TorchDType {
	case "float32", "bfloat16", "float16":
	default:
		return fmt.Errorf("unsupported torch_dtype %q (want float32, bfloat16 or float16)", c.TorchDType)
	}
	return nil
}

func intOrList(raw json.RawMessage) ([]int, error) {
	var one int
	if err := json.Unmarshal(raw, &one); err == nil {
		return []int{one}, nil
	}
	var many []int
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("want an integer or a list of integers, got %s", raw)
	}
	return many, nil
}

// MarshalConfig renders cfg as the config.json transformers writes for its
// architecture.
func MarshalConfig(cfg Config) ([]byte, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	kv, heads := cfg.NumKeyValueHeads, cfg.HeadDim
	tie := cfg.TieWordEmbeddings
	h := hfConfig{
		Architectures:         []string{cfg.Architecture},
		ModelType:             cfg.ModelType,
		HiddenSize:            cfg.HiddenSize,
		IntermediateSize:      cfg.IntermediateSize,
		NumHiddenLayers:       cfg.NumHiddenLayers,
		NumAttentionHeads:     cfg.NumAttentionHeads,
		NumKeyValueHeads:      &kv,
		HeadDim:               &heads,
		VocabSize:             cfg.VocabSize,
		MaxPositionEmbeddings: cfg.MaxPositionEmbeddings,
		RMSNormEps:            cfg.RMSNormEps,
		RopeTheta:             cfg.RopeTheta,
		TieWordEmbeddings:     &tie,
		TorchDType:            cfg.TorchDType,
		HiddenAct:             "silu",
		UseCache:              true,
		TransformersVersion:   "4.46.0",
	}
	if h.MaxPositionEmbeddings == 0 {
		h.MaxPositionEmbeddings = 4096
	}
	switch cfg.Architecture {
	case ArchQwen2:
		if h.ModelType == "" {
			h.ModelType = "qwen2"
		}
		f, w, zero := false, h.MaxPositionEmbeddings, 0.0
		h.UseSlidingWindow, h.SlidingWindow, h.MaxWindowLayers, h.AttentionDropout = &f, &w, &cfg.NumHiddenLayers, &zero
		if !cfg.AttentionBias {
			return nil, fmt.Errorf("%s always has attention biases; AttentionBias must be true", ArchQwen2)
		}
	case ArchLlama:
		if h.ModelType == "" {
			h.ModelType = "llama"
		}
		b, f, one, zero := cfg.AttentionBias, false, 1, 0.0
		h.AttentionBias, h.MLPBias, h.PretrainingTP, h.AttentionDropout = &b, &f, &one, &zero
	default:
		return nil, fmt.Errorf("unsupported architecture %q", cfg.Architecture)
	}
	if r := cfg.RopeScaling; r != nil {
		h.RopeScaling = &hfRopeScaling{RopeType: "llama3", Factor: r.Factor, LowFreqFactor: r.LowFreqFactor,
			HighFreqFactor: r.HighFreqFactor, OriginalMaxPositionEmbeddings: r.OriginalMaxPositionEmbeddings}
	}
	if cfg.BOSTokenID >= 0 {
		h.BOSTokenID, _ = json.Marshal(cfg.BOSTokenID)
	}
	h.EOSTokenID = eosJSON(cfg.EOSTokenIDs)
	return json.MarshalIndent(h, "", "  ")
}

func eosJSON(ids []int) json.RawMessage {
	var raw []byte
	switch len(ids) {
	case 0:
		return nil
	case 1:
		raw, _ = json.Marshal(ids[0])
	default:
		raw, _ = json.Marshal(ids)
	}
	return raw
}

// WriteConfig writes dir/config.json and dir/generation_config.json.
func WriteConfig(dir string, cfg Config) error {
	data, err := MarshalConfig(cfg)
	if err != nil {
		return fmt.Errorf("writing %s: %w", filepath.Join(dir, "config.json"), err)
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, "config.json"), append(data, '\n')); err != nil {
		return err
	}
	gen := map[string]any{"_from_model_config": true, "transformers_version": "4.46.0"}
	if cfg.BOSTokenID >= 0 {
		gen["bos_token_id"] = cfg.BOSTokenID
	}
	if e := eosJSON(cfg.EOSTokenIDs); e != nil {
		gen["eos_token_id"] = e
	}
	gdata, _ := json.MarshalIndent(gen, "", "  ")
	return atomicfile.WriteBytes(filepath.Join(dir, "generation_config.json"), append(gdata, '\n'))
}
