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
			EOSTokenIDs: []int{151645}, TorchDType: "bfloat16",
		}, 494_032_768},
		{"llama-3.2-1b-instruct.config.json", Config{
			Architecture: ArchLlama, ModelType: "llama", HiddenSize: 2048, IntermediateSize: 8192, NumHiddenLayers: 16,
			NumAttentionHeads: 32, NumKeyValueHeads: 8, HeadDim: 64, VocabSize: 128256, MaxPositionEmbeddings: 131072,
			RMSNormEps: 1e-5, RopeTheta: 5e5, TieWordEmbeddings: true, BOSTokenID: 128000,
			EOSTokenIDs: []int{128001, 128008, 128009}, TorchDType: "bfloat16",
			RopeScaling: &RopeScaling{Type: "llama3", Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositionEmbeddings: 8192},
		}, 1_235_814_400},
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
