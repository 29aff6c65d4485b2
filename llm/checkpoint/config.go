package checkpoint

// Config is a decoder-only transformer's configuration, read from a Hugging
// Face config.json (Qwen2ForCausalLM, LlamaForCausalLM) and
// generation_config.json.
type Config struct {
	Architecture          string       // "Qwen2ForCausalLM" or "LlamaForCausalLM" (config.json "architectures"[0]).
	ModelType             string       // "qwen2" or "llama" (config.json "model_type").
	HiddenSize            int          // Width of the residual stream.
	IntermediateSize      int          // Width of the SwiGLU MLP.
	NumHiddenLayers       int          // Number of decoder layers.
	NumAttentionHeads     int          // Query heads.
	NumKeyValueHeads      int          // Key/value heads (grouped-query attention); equals NumAttentionHeads without GQA.
	HeadDim               int          // Per-head width; HiddenSize/NumAttentionHeads unless config.json says otherwise.
	VocabSize             int          // Rows of the embedding and of lm_head.
	MaxPositionEmbeddings int          // Longest sequence the model was trained for.
	RMSNormEps            float64      // Epsilon of every RMSNorm.
	RopeTheta             float64      // RoPE base frequency.
	RopeScaling           *RopeScaling // nil, or Llama-3's frequency scaling.
	TieWordEmbeddings     bool         // lm_head shares model.embed_tokens.weight.
	AttentionBias         bool         // q/k/v projections have biases (Qwen2: true; Llama, Qwen3, Gemma 3: attention_bias, which also gives o_proj one; Mistral: never).
	QKNorm                bool         // Per-head RMSNorm of queries and keys before RoPE (Qwen3, Gemma 3): self_attn.q_norm/k_norm.
	SlidingWindow         int          // 0, or how far back a sliding-window layer attends: key k is seen from query q when q−k < SlidingWindow (Mistral, Gemma 3).
	SlidingLayers         []bool       // Which layers use the window; nil with SlidingWindow > 0 means every layer (Mistral).
	Gemma                 bool         // Gemma 3's block: (1+w) RMSNorms, norms after attention and around the MLP, embeddings scaled by √hidden.
	QueryPreAttnScalar    float64      // Attention scores are scaled by its −½ power; 0 means head_dim (Gemma 3: query_pre_attn_scalar).
	RopeLocalTheta        float64      // RoPE base of sliding-window layers, unscaled; 0 means RopeTheta and RopeScaling (Gemma 3: rope_local_base_freq).
	HiddenAct             string       // MLP activation: "silu" (SwiGLU) or "gelu_pytorch_tanh" (GeGLU, Gemma 3).
	BOSTokenID            int          // -1 when the model has none.
	EOSTokenIDs           []int        // Generation stops at any of these (generation_config.json wins over config.json).
	TorchDType            string       // "float32", "bfloat16" or "float16": the dtype the weights are stored in.
}

// RopeScaling is config.json's rope_scaling of rope_type "llama3" or "linear".
type RopeScaling struct {
	Type                          string  // "llama3" or "linear" (every frequency divided by Factor: Gemma 3 4B and up); other types are rejected when loading.
	Factor                        float64 // Overall scaling of long wavelengths.
	LowFreqFactor                 float64 // Wavelengths above OriginalMaxPositionEmbeddings/LowFreqFactor are divided by Factor.
	HighFreqFactor                float64 // Wavelengths below OriginalMaxPositionEmbeddings/HighFreqFactor are kept.
	OriginalMaxPositionEmbeddings int     // Context length before scaling.
}

// Sliding reports whether layer l attends through the sliding window.
func (c Config) Sliding(l int) bool {
	if c.SlidingWindow <= 0 {
		return false
	}
	if c.SlidingLayers == nil {
		return true
	}
	return l < len(c.SlidingLayers) && c.SlidingLayers[l]
}

// Family returns the short architecture name refeval uses for c:
// "qwen2", "qwen3", "llama", "mistral" or "gemma3".
func (c Config) Family() string {
	switch c.Architecture {
	case ArchQwen2:
		return "qwen2"
	case ArchQwen3:
		return "qwen3"
	case ArchLlama:
		return "llama"
	case ArchMistral:
		return "mistral"
	case ArchGemma3:
		return "gemma3"
	}
	return ""
}

// OutputBias reports whether o_proj has a bias: attention_bias gives every
// attention projection one in Llama, Qwen3 and Gemma 3, while Qwen2's
// biases are on q, k and v only.
func (c Config) OutputBias() bool {
	return c.AttentionBias && c.Architecture != ArchQwen2
}
