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
	AttentionBias         bool         // q/k/v projections have biases (Qwen2: true; Llama: attention_bias).
	BOSTokenID            int          // -1 when the model has none.
	EOSTokenIDs           []int        // Generation stops at any of these (generation_config.json wins over config.json).
	TorchDType            string       // "float32", "bfloat16" or "float16": the dtype the weights are stored in.
}

// RopeScaling is config.json's rope_scaling of rope_type "llama3".
type RopeScaling struct {
	Type                          string  // "llama3"; other types are rejected when loading.
	Factor                        float64 // Overall scaling of long wavelengths.
	LowFreqFactor                 float64 // Wavelengths above OriginalMaxPositionEmbeddings/LowFreqFactor are divided by Factor.
	HighFreqFactor                float64 // Wavelengths below OriginalMaxPositionEmbeddings/HighFreqFactor are kept.
	OriginalMaxPositionEmbeddings int     // Context length before scaling.
}
