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
	ArchQwen2   = "Qwen2ForCausalLM"
	ArchQwen3   = "Qwen3ForCausalLM"
	ArchLlama   = "LlamaForCausalLM"
	ArchMistral = "MistralForCausalLM"
	ArchGemma3  = "Gemma3ForCausalLM"
)

// supported names the architectures for error messages.
const supported = ArchQwen2 + ", " + ArchQwen3 + ", " + ArchLlama + ", " + ArchMistral + " and " + ArchGemma3

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
	HiddenAct             string          `json:"hidden_act,omitempty"`
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
	// Gemma 3 keys.
	HiddenActivation      string          `json:"hidden_activation,omitempty"`
	QueryPreAttnScalar    *float64        `json:"query_pre_attn_scalar,omitempty"`
	RopeLocalBaseFreq     *float64        `json:"rope_local_base_freq,omitempty"`
	SlidingWindowPattern  *int            `json:"sliding_window_pattern,omitempty"`
	LayerTypes            []string        `json:"layer_types,omitempty"`
	FinalLogitSoftcapping json.RawMessage `json:"final_logit_softcapping,omitempty"`
	AttnLogitSoftcapping  json.RawMessage `json:"attn_logit_softcapping,omitempty"`
	Bidirectional         *bool           `json:"use_bidirectional_attention,omitempty"`
}

type hfRopeScaling struct {
	RopeType                      string  `json:"rope_type,omitempty"`
	Type                          string  `json:"type,omitempty"`
	Factor                        float64 `json:"factor"`
	LowFreqFactor                 float64 `json:"low_freq_factor,omitempty"`
	HighFreqFactor                float64 `json:"high_freq_factor,omitempty"`
	OriginalMaxPositionEmbeddings int     `json:"original_max_position_embeddings,omitempty"`
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
		return Config{}, fmt.Errorf("no \"architectures\" key; refeval supports %s", supported)
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
	act := h.HiddenAct
	switch cfg.Architecture {
	case ArchQwen2:
		cfg.AttentionBias = true // Qwen2 always has q/k/v biases.
	case ArchQwen3:
		cfg.AttentionBias = h.AttentionBias != nil && *h.AttentionBias
		cfg.QKNorm = true
	case ArchLlama, ArchMistral:
		// Mistral's projections never have biases (transformers' MistralAttention).
		cfg.AttentionBias = cfg.Architecture == ArchLlama && h.AttentionBias != nil && *h.AttentionBias
		if h.MLPBias != nil && *h.MLPBias {
			return Config{}, fmt.Errorf("mlp_bias=true is not supported")
		}
		if cfg.Architecture == ArchMistral && h.SlidingWindow != nil {
			cfg.SlidingWindow = *h.SlidingWindow
		}
	case ArchGemma3:
		cfg.AttentionBias = h.AttentionBias != nil && *h.AttentionBias
		cfg.QKNorm, cfg.Gemma = true, true
		cfg.TieWordEmbeddings = h.TieWordEmbeddings == nil || *h.TieWordEmbeddings // Gemma's default is tied
		if h.HiddenActivation != "" {
			act = h.HiddenActivation
		} else if act == "" {
			act = "gelu_pytorch_tanh"
		}
		for _, k := range []struct {
			name string
			raw  json.RawMessage
		}{{"final_logit_softcapping", h.FinalLogitSoftcapping}, {"attn_logit_softcapping", h.AttnLogitSoftcapping}} {
			if len(k.raw) > 0 && string(k.raw) != "null" {
				return Config{}, fmt.Errorf("%s=%s is not supported (Gemma 3 has none; Gemma 2 is not supported)", k.name, k.raw)
			}
		}
		if h.Bidirectional != nil && *h.Bidirectional {
			return Config{}, fmt.Errorf("use_bidirectional_attention=true (EmbeddingGemma) is not supported: refeval runs causal decoders")
		}
		if h.QueryPreAttnScalar != nil {
			cfg.QueryPreAttnScalar = *h.QueryPreAttnScalar
		}
		cfg.RopeLocalTheta = 10000
		if h.RopeLocalBaseFreq != nil {
			cfg.RopeLocalTheta = *h.RopeLocalBaseFreq
		}
		if h.SlidingWindow != nil {
			cfg.SlidingWindow = *h.SlidingWindow
		}
		cfg.SlidingLayers = make([]bool, cfg.NumHiddenLayers)
		switch {
		case h.LayerTypes != nil:
			if len(h.LayerTypes) != cfg.NumHiddenLayers {
				return Config{}, fmt.Errorf("layer_types has %d entries for %d layers", len(h.LayerTypes), cfg.NumHiddenLayers)
			}
			for i, t := range h.LayerTypes {
				switch t {
				case "sliding_attention":
					cfg.SlidingLayers[i] = true
				case "full_attention":
				default:
					return Config{}, fmt.Errorf("layer_types[%d] = %q: want sliding_attention or full_attention", i, t)
				}
			}
		default:
			pattern := 6
			if h.SlidingWindowPattern != nil {
				pattern = *h.SlidingWindowPattern
			}
			if pattern <= 0 {
				return Config{}, fmt.Errorf("sliding_window_pattern must be positive, got %d", pattern)
			}
			for i := range cfg.SlidingLayers {
				cfg.SlidingLayers[i] = (i+1)%pattern != 0
			}
		}
	default:
		return Config{}, fmt.Errorf("unsupported architecture %q; refeval supports %s", cfg.Architecture, supported)
	}
	if act == "" {
		act = "silu"
	}
	cfg.HiddenAct = act
	switch {
	case act == "silu" && !cfg.Gemma, act == "gelu_pytorch_tanh" && cfg.Gemma:
	default:
		return Config{}, fmt.Errorf("unsupported hidden activation %q for %s (want silu; Gemma 3: gelu_pytorch_tanh)", act, cfg.Architecture)
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
		if t != "llama3" && t != "linear" {
			return Config{}, fmt.Errorf("unsupported rope_scaling type %q (llama3 and linear are supported)", t)
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
	if c.SlidingWindow < 0 {
		return fmt.Errorf("sliding_window must not be negative, got %d", c.SlidingWindow)
	}
	if c.SlidingLayers != nil && len(c.SlidingLayers) != c.NumHiddenLayers {
		return fmt.Errorf("%d sliding-window layer flags for %d layers", len(c.SlidingLayers), c.NumHiddenLayers)
	}
	if r := c.RopeScaling; r != nil && r.Type == "linear" {
		if r.Factor <= 0 {
			return fmt.Errorf("rope_scaling: linear factor must be positive, got %v", r.Factor)
		}
	} else if r != nil && (r.Factor <= 0 || r.LowFreqFactor <= 0 || r.HighFreqFactor <= r.LowFreqFactor || r.OriginalMaxPositionEmbeddings <= 0) {
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
	f, zero := false, 0.0
	switch cfg.Architecture {
	case ArchQwen2, ArchQwen3:
		if h.ModelType == "" {
			h.ModelType = cfg.Family()
		}
		w := h.MaxPositionEmbeddings
		h.UseSlidingWindow, h.SlidingWindow, h.MaxWindowLayers, h.AttentionDropout = &f, &w, &cfg.NumHiddenLayers, &zero
		if cfg.Architecture == ArchQwen2 && !cfg.AttentionBias {
			return nil, fmt.Errorf("%s always has attention biases; AttentionBias must be true", ArchQwen2)
		}
		if cfg.Architecture == ArchQwen3 {
			b := cfg.AttentionBias
			h.AttentionBias = &b
			h.SlidingWindow = nil // null in Qwen3's files
			h.TransformersVersion = "4.51.0"
		}
	case ArchLlama, ArchMistral:
		if h.ModelType == "" {
			h.ModelType = cfg.Family()
		}
		if cfg.Architecture == ArchMistral && cfg.AttentionBias {
			return nil, fmt.Errorf("%s has no attention biases; AttentionBias must be false", ArchMistral)
		}
		b := cfg.AttentionBias
		h.AttentionBias, h.AttentionDropout = &b, &zero
		if cfg.Architecture == ArchLlama {
			one := 1
			h.MLPBias, h.PretrainingTP = &f, &one
		} else if cfg.SlidingWindow > 0 {
			w := cfg.SlidingWindow
			h.SlidingWindow = &w
		}
	case ArchGemma3:
		if h.ModelType == "" {
			h.ModelType = "gemma3_text"
		}
		b := cfg.AttentionBias
		h.AttentionBias, h.AttentionDropout = &b, &zero
		h.HiddenAct, h.HiddenActivation = "", cfg.HiddenAct
		q, lt := cfg.QueryPreAttnScalar, cfg.RopeLocalTheta
		if q == 0 {
			q = float64(cfg.HeadDim)
		}
		if lt == 0 {
			lt = cfg.RopeTheta
		}
		w := cfg.SlidingWindow
		h.QueryPreAttnScalar, h.RopeLocalBaseFreq, h.SlidingWindow = &q, &lt, &w
		h.FinalLogitSoftcapping, h.AttnLogitSoftcapping = json.RawMessage("null"), json.RawMessage("null")
		for l := range cfg.NumHiddenLayers {
			if cfg.Sliding(l) {
				h.LayerTypes = append(h.LayerTypes, "sliding_attention")
			} else {
				h.LayerTypes = append(h.LayerTypes, "full_attention")
			}
		}
		if p := SlidingPattern(cfg); p > 0 {
			h.SlidingWindowPattern = &p
		}
		h.TransformersVersion = "4.53.0"
	default:
		return nil, fmt.Errorf("unsupported architecture %q", cfg.Architecture)
	}
	if r := cfg.RopeScaling; r != nil && r.Type == "linear" {
		h.RopeScaling = &hfRopeScaling{RopeType: "linear", Factor: r.Factor}
	} else if r != nil {
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

// SlidingPattern returns P when layer l is sliding exactly when
// (l+1)%P != 0 (Gemma 3's sliding_window_pattern, which transformers before
// layer_types and llama.cpp read), else 0. Gemma 3's 6 is preferred when
// several fit (few layers).
func SlidingPattern(cfg Config) int {
	candidates := []int{6, 5, 4, 3, 2, 1} // Gemma 3's 6 first
	for p := 7; p <= cfg.NumHiddenLayers+1; p++ {
		candidates = append(candidates, p)
	}
	for _, p := range candidates {
		ok := true
		for l := range cfg.NumHiddenLayers {
			if cfg.Sliding(l) != ((l+1)%p != 0) {
				ok = false
				break
			}
		}
		if ok {
			return p
		}
	}
	return 0
}
