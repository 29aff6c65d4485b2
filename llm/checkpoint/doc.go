// Package checkpoint reads and writes Hugging Face model folders for the
// decoder-only architectures refeval runs (Qwen2ForCausalLM,
// Qwen3ForCausalLM, LlamaForCausalLM, MistralForCausalLM, Gemma3ForCausalLM): config.json, generation_config.json, *.safetensors
// (single or sharded through model.safetensors.index.json, F32/F16/BF16) and
// the tokenizer files next to them. It also builds deterministic random
// models of a given size for tests and demos (Random, SizedConfig).
//
// Weights are held as float32 [Tensor]s in Hugging Face names and layouts
// ([out, in] for linear layers). Turning them into a computation graph is
// left to package transformer; tokenizing and chat templates are left to
// packages tokenizer and chat.
package checkpoint
