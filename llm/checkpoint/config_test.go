package checkpoint

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseReleasedConfigs parses the config.json of released models (as
// published on the Hugging Face hub) and checks the parameter counts their
// model cards give.
func TestParseReleasedConfigs(t *testing.T) {
	tests := []struct {
		file   string
		want   Config
		params int64
	}{
		{"qwen2.5-0.5b-instruct.config.json", Config{
			Architecture: ArchQwen2, ModelType: "qwen2", HiddenSize: 896, IntermediateSize: 4864, NumHiddenLayers: 24,
			NumAttentionHeads: 14, NumKeyValueHeads: 2, HeadDim: 64, VocabSize: 151936, MaxPositionEmbeddings: 32768,
			RMSNormEps: 1e-6, RopeTheta: 1e6, TieWordEmbeddings: true, AttentionBias: true, BOSTokenID: 151643,
			EOSTokenIDs: []int{151645}, TorchDType: "bfloat16", HiddenAct: "silu",
		}, 494_032_768},
		{"llama-3.2-1b-instruct.config.json", Config{
			Architecture: ArchLlama, ModelType: "llama", HiddenSize: 2048, IntermediateSize: 8192, NumHiddenLayers: 16,
			NumAttentionHeads: 32, NumKeyValueHeads: 8, HeadDim: 64, VocabSize: 128256, MaxPositionEmbeddings: 131072,
			RMSNormEps: 1e-5, RopeTheta: 5e5, TieWordEmbeddings: true, BOSTokenID: 128000,
			EOSTokenIDs: []int{128001, 128008, 128009}, TorchDType: "bfloat16", HiddenAct: "silu",
			RopeScaling: &RopeScaling{Type: "llama3", Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8192},
		}, 1_235_814_400},
		// Model card: 0.6B parameters, 0.44B without the embedding.
		{"qwen3-0.6b.config.json", Config{
			Architecture: ArchQwen3, ModelType: "qwen3", HiddenSize: 1024, IntermediateSize: 3072, NumHiddenLayers: 28,
			NumAttentionHeads: 16, NumKeyValueHeads: 8, HeadDim: 128, VocabSize: 151936, MaxPositionEmbeddings: 40960,
			RMSNormEps: 1e-6, RopeTheta: 1e6, TieWordEmbeddings: true, QKNorm: true, BOSTokenID: 151643,
			EOSTokenIDs: []int{151645}, TorchDType: "bfloat16", HiddenAct: "silu",
		}, 596_049_920},
		{"mistral-7b-v0.1.config.json", Config{
			Architecture: ArchMistral, ModelType: "mistral", HiddenSize: 4096, IntermediateSize: 14336, NumHiddenLayers: 32,
			NumAttentionHeads: 32, NumKeyValueHeads: 8, HeadDim: 128, VocabSize: 32000, MaxPositionEmbeddings: 32768,
			RMSNormEps: 1e-5, RopeTheta: 1e4, SlidingWindow: 4096, BOSTokenID: 1,
			EOSTokenIDs: []int{2}, TorchDType: "bfloat16", HiddenAct: "silu",
		}, 7_241_732_096},
		{"gemma-3-1b-it.config.json", Config{
			Architecture: ArchGemma3, ModelType: "gemma3_text", HiddenSize: 1152, IntermediateSize: 6912, NumHiddenLayers: 26,
			NumAttentionHeads: 4, NumKeyValueHeads: 1, HeadDim: 256, VocabSize: 262144, MaxPositionEmbeddings: 32768,
			RMSNormEps: 1e-6, RopeTheta: 1e6, RopeLocalTheta: 1e4, TieWordEmbeddings: true, QKNorm: true, Gemma: true,
			QueryPreAttnScalar: 256, SlidingWindow: 512, SlidingLayers: gemmaPattern(26, 6), BOSTokenID: 2,
			EOSTokenIDs: []int{1, 106}, TorchDType: "bfloat16", HiddenAct: "gelu_pytorch_tanh",
		}, 999_885_952},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := ParseConfig(data)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, cfg); diff != "" {
				t.Errorf("wrong config (-want +got):\n%s", diff)
			}
			if got := NumParams(cfg); got != tc.params {
				t.Errorf("wrong parameter count\ngot:  %#v\nwant: %#v", got, tc.params)
			}
			// Writing and re-reading keeps every field.
			out, err := MarshalConfig(cfg)
			if err != nil {
				t.Fatal(err)
			}
			again, err := ParseConfig(out)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(cfg, again); diff != "" {
				t.Errorf("wrong config after a round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func gemmaPattern(layers, p int) []bool {
	out := make([]bool, layers)
	for l := range out {
		out[l] = (l+1)%p != 0
	}
	return out
}
