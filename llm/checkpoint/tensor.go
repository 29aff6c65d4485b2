package checkpoint

// Tensor is a weight in row-major float32, whatever dtype it was stored in.
// Shapes follow Hugging Face: a linear layer's weight is [out, in].
type Tensor struct {
	Shape []int
	Data  []float32
}

// Tensor names follow Hugging Face transformers (Qwen2/Llama):
//
//	model.embed_tokens.weight                      [vocab, hidden]
//	model.layers.N.input_layernorm.weight          [hidden]
//	model.layers.N.self_attn.q_proj.weight         [heads*head_dim, hidden]   (+ .bias when AttentionBias)
//	model.layers.N.self_attn.k_proj.weight         [kv_heads*head_dim, hidden] (+ .bias)
//	model.layers.N.self_attn.v_proj.weight         [kv_heads*head_dim, hidden] (+ .bias)
//	model.layers.N.self_attn.o_proj.weight         [hidden, heads*head_dim]
//	model.layers.N.post_attention_layernorm.weight [hidden]
//	model.layers.N.mlp.gate_proj.weight            [intermediate, hidden]
//	model.layers.N.mlp.up_proj.weight              [intermediate, hidden]
//	model.layers.N.mlp.down_proj.weight            [hidden, intermediate]
//	model.norm.weight                              [hidden]
//	lm_head.weight                                 [vocab, hidden] (absent when TieWordEmbeddings)
