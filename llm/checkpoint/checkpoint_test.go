package checkpoint

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func tinyConfig(t *testing.T, arch string) Config {
	t.Helper()
	cfg, err := SizedConfig(arch, "tiny", 300)
	if err != nil {
		t.Fatal(err)
	}
	cfg.EOSTokenIDs = []int{299, 298}
	return cfg
}

func TestSaveLoadRoundTrip(t *testing.T) {
	tests := []struct {
		name       string
		arch       string
		dtype      string
		shardBytes int64
		tie        bool
		tol        float64
	}{
		{"qwen2 f32 single", "qwen2", "float32", 0, true, 0},
		{"llama f32 sharded untied", "llama", "float32", 100_000, false, 0},
		{"qwen2 bf16", "qwen2", "bfloat16", 0, true, 1.0 / 128},
		{"llama f16 sharded", "llama", "float16", 50_000, true, 1.0 / 1024},
		{"qwen3 f32", "qwen3", "float32", 0, true, 0},
		{"mistral bf16 untied", "mistral", "bfloat16", 0, false, 1.0 / 128},
		{"gemma3 f32 sharded", "gemma3", "float32", 100_000, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tinyConfig(t, tc.arch)
			cfg.TorchDType = tc.dtype
			cfg.TieWordEmbeddings = tc.tie
			w := Random(cfg, 7)
			Perturb(w, 7)
			dir := t.TempDir()
			if err := Save(dir, cfg, w, SaveOptions{ShardBytes: tc.shardBytes}); err != nil {
				t.Fatal(err)
			}
			_, err := os.Stat(filepath.Join(dir, IndexFile))
			if sharded := err == nil; sharded != (tc.shardBytes > 0) {
				t.Errorf("wrong sharding\ngot:  %#v\nwant: %#v", sharded, tc.shardBytes > 0)
			}
			ck, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(cfg, ck.Config); diff != "" {
				t.Errorf("wrong config (-want +got):\n%s", diff)
			}
			if len(ck.Tensors) != len(w) {
				t.Fatalf("wrong tensor count\ngot:  %#v\nwant: %#v", len(ck.Tensors), len(w))
			}
			for name, want := range w {
				got := ck.Tensors[name]
				for i := range want.Data {
					if d := math.Abs(float64(got.Data[i] - want.Data[i])); d > tc.tol*math.Max(1, math.Abs(float64(want.Data[i]))) {
						t.Fatalf("wrong value of %s[%d]\ngot:  %#v\nwant: %#v", name, i, got.Data[i], want.Data[i])
					}
				}
			}
		})
	}
}

func TestSafetensorsLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.safetensors")
	ts := map[string]*Tensor{"b": {Shape: []int{2}, Data: []float32{1, 2}}, "a": {Shape: []int{1, 1}, Data: []float32{3}}}
	if err := WriteSafetensors(path, ts, "F32"); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	n := binary.LittleEndian.Uint64(data)
	hdr := string(data[8 : 8+n])
	if n%8 != 0 {
		t.Errorf("wrong header alignment\ngot:  %#v\nwant: %#v", n%8, 0)
	}
	want := `{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`
	if strings.TrimRight(hdr, " ") != want {
		t.Errorf("wrong header\ngot:  %#v\nwant: %#v", hdr, want)
	}
}

func TestHalfConversions(t *testing.T) {
	tests := []struct {
		in   float32
		half uint16
		bf   uint16
	}{
		{0, 0, 0},
		{1, 0x3c00, 0x3f80},
		{-2, 0xc000, 0xc000},
		{65504, 0x7bff, 0x4780},
		{1e-7, 0x0002, 0x33d7},
		{float32(math.Inf(1)), 0x7c00, 0x7f80},
	}
	for _, tc := range tests {
		t.Run(strconv.FormatFloat(float64(tc.in), 'g', -1, 32), func(t *testing.T) {
			if got := ToFloat16(tc.in); got != tc.half {
				t.Errorf("wrong f16\ngot:  %#04x\nwant: %#04x", got, tc.half)
			}
			if got := floatToBF16(tc.in); got != tc.bf {
				t.Errorf("wrong bf16\ngot:  %#04x\nwant: %#04x", got, tc.bf)
			}
			back := FromFloat16(tc.half)
			if tc.in != 0 && math.Abs(float64(back-tc.in)) > 1e-3*math.Abs(float64(tc.in)) && tc.in > 1e-6 {
				t.Errorf("wrong f16 round trip\ngot:  %#v\nwant: %#v", back, tc.in)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	cfg := tinyConfig(t, "qwen2")
	good := t.TempDir()
	if err := Save(good, cfg, Random(cfg, 1), SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	cfgJSON, _ := os.ReadFile(filepath.Join(good, "config.json"))
	weights, _ := os.ReadFile(filepath.Join(good, "model.safetensors"))

	smaller := cfg
	smaller.NumHiddenLayers = 1
	missing := Random(cfg, 1)
	delete(missing, "model.layers.1.mlp.up_proj.weight")
	misshaped := Random(cfg, 1)
	misshaped["model.norm.weight"] = &Tensor{Shape: []int{63}, Data: make([]float32, 63)}

	tests := []struct {
		name    string
		setup   func(dir string)
		wantErr []string // substrings
	}{
		{"no config", func(dir string) {}, []string{"config.json"}},
		{"bad json", func(dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"architectures": [`), 0o666)
		}, []string{"config.json", "bad JSON"}},
		{"unsupported architecture", func(dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(strings.Replace(string(cfgJSON), ArchQwen2, "MixtralForCausalLM", 1)), 0o666)
		}, []string{"config.json", "unsupported architecture", "MixtralForCausalLM"}},
		{"gemma soft-capping", func(dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"architectures": ["Gemma3ForCausalLM"], "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 10, "final_logit_softcapping": 30.0}`), 0o666)
		}, []string{"config.json", "final_logit_softcapping", "Gemma 2"}},
		{"gemma bidirectional", func(dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"architectures": ["Gemma3ForCausalLM"], "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 10, "use_bidirectional_attention": true}`), 0o666)
		}, []string{"config.json", "use_bidirectional_attention"}},
		{"gemma layer types", func(dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"architectures": ["Gemma3ForCausalLM"], "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "vocab_size": 10, "layer_types": ["sliding_attention"]}`), 0o666)
		}, []string{"config.json", "layer_types has 1 entries for 2 layers"}},
		{"rope scaling type", func(dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(strings.Replace(string(cfgJSON), `"rope_scaling": null`, `"rope_scaling": {"type": "yarn", "factor": 4}`, 1)), 0o666)
		}, []string{"config.json", "yarn"}},
		{"no weights", func(dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), cfgJSON, 0o666)
		}, []string{"no model.safetensors"}},
		{"truncated safetensors", func(dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), cfgJSON, 0o666)
			os.WriteFile(filepath.Join(dir, "model.safetensors"), weights[:len(weights)/2], 0o666)
		}, []string{"model.safetensors", "truncated"}},
		{"truncated header", func(dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), cfgJSON, 0o666)
			os.WriteFile(filepath.Join(dir, "model.safetensors"), weights[:100], 0o666)
		}, []string{"model.safetensors", "header"}},
		{"empty safetensors", func(dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), cfgJSON, 0o666)
			os.WriteFile(filepath.Join(dir, "model.safetensors"), nil, 0o666)
		}, []string{"model.safetensors", "8-byte"}},
		{"missing tensor", func(dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), cfgJSON, 0o666)
			WriteSafetensors(filepath.Join(dir, "model.safetensors"), missing, "F32")
		}, []string{"model.safetensors", "model.layers.1.mlp.up_proj.weight", "missing"}},
		{"misshaped tensor", func(dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), cfgJSON, 0o666)
			WriteSafetensors(filepath.Join(dir, "model.safetensors"), misshaped, "F32")
		}, []string{"model.safetensors", "model.norm.weight", "[63]", "[64]"}},
		{"bad index", func(dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), cfgJSON, 0o666)
			os.WriteFile(filepath.Join(dir, IndexFile), []byte(`{"weight_map": 3}`), 0o666)
		}, []string{IndexFile, "bad JSON"}},
		{"shard missing", func(dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), cfgJSON, 0o666)
			os.WriteFile(filepath.Join(dir, IndexFile), []byte(`{"weight_map": {"model.norm.weight": "model-00001-of-00002.safetensors"}}`), 0o666)
		}, []string{"model-00001-of-00002.safetensors"}},
		{"bad generation config", func(dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), cfgJSON, 0o666)
			os.WriteFile(filepath.Join(dir, "generation_config.json"), []byte(`{`), 0o666)
		}, []string{"generation_config.json", "bad JSON"}},
		{"heads not divisible", func(dir string) {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(strings.Replace(string(cfgJSON), `"num_key_value_heads": 2`, `"num_key_value_heads": 3`, 1)), 0o666)
		}, []string{"config.json", "num_key_value_heads"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(dir)
			_, err := Load(dir)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("wrong error\ngot:  %#v\nwant it to contain: %#v", err.Error(), s)
				}
			}
		})
	}
	_ = smaller
}

func TestSizedConfig(t *testing.T) {
	tests := []struct {
		arch, size string
		vocab      int
		lo, hi     int64
	}{
		{"qwen2", "tiny", 151665, 9_000_000, 11_000_000},
		{"qwen2", "small", 151665, 20_000_000, 30_000_000},
		{"llama", "small", 128256, 20_000_000, 30_000_000},
		{"llama", "100M", 128256, 90_000_000, 110_000_000},
		{"qwen2", "2M", 1000, 1_800_000, 2_200_000},
		// Sizes whose closest shape has an odd head count (hidden 448 → 7 heads).
		{"qwen2", "125M", 151665, 115_000_000, 135_000_000},
		{"qwen2", "120M", 151665, 110_000_000, 130_000_000},
		{"qwen2", "135M", 151665, 125_000_000, 145_000_000},
	}
	for _, tc := range tests {
		t.Run(tc.arch+" "+tc.size, func(t *testing.T) {
			cfg, err := SizedConfig(tc.arch, tc.size, tc.vocab)
			if err != nil {
				t.Fatal(err)
			}
			if n := NumParams(cfg); n < tc.lo || n > tc.hi {
				t.Errorf("wrong parameter count\ngot:  %#v\nwant: in [%d, %d]", n, tc.lo, tc.hi)
			}
		})
	}
	for _, bad := range []struct {
		arch, size string
		badSize    bool // CheckSize rejects it too.
	}{{"gpt2", "tiny", false}, {"qwen2", "huge", true}, {"llama", "-5", true}, {"qwen2", "0.5", true}, {"llama", "101B", true}} {
		t.Run("bad "+bad.arch+" "+bad.size, func(t *testing.T) {
			if _, err := SizedConfig(bad.arch, bad.size, 100); err == nil {
				t.Error("SizedConfig succeeded, want an error")
			}
			if err := CheckSize(bad.size); (err != nil) != bad.badSize {
				t.Errorf("wrong CheckSize(%q)\ngot:  %v\nwant: an error %v", bad.size, err, bad.badSize)
			}
		})
	}
}

func TestInit(t *testing.T) {
	src := t.TempDir()
	tok := filepath.Join(src, "tokenizer.json")
	os.WriteFile(tok, []byte(`{"added_tokens":[{"id":5,"content":"<|endoftext|>","special":true},{"id":6,"content":"<|im_end|>","special":true}],"model":{"type":"BPE","vocab":{"a":0,"b":1,"c":2,"d":3,"e":4}}}`), 0o666)
	out := filepath.Join(t.TempDir(), "m")
	cfg, err := Init(InitOptions{Arch: "qwen2", Size: "tiny", Tokenizer: tok, Seed: 3, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.VocabSize != 7 {
		t.Errorf("wrong vocab size\ngot:  %#v\nwant: %#v", cfg.VocabSize, 7)
	}
	if diff := cmp.Diff([]int{6, 5}, cfg.EOSTokenIDs); diff != "" {
		t.Errorf("wrong eos ids (-want +got):\n%s", diff)
	}
	info, err := ReadTokenizerInfo(filepath.Join(out, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if info.ChatTemplate != ChatMLTemplate {
		t.Errorf("wrong chat template\ngot:  %#v\nwant: %#v", info.ChatTemplate, ChatMLTemplate)
	}
	ck, err := Load(out)
	if err != nil {
		t.Fatal(err)
	}
	out2 := filepath.Join(t.TempDir(), "m")
	if _, err := Init(InitOptions{Arch: "qwen2", Size: "tiny", Tokenizer: tok, Seed: 3, Out: out2}); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(out, "model.safetensors"))
	b, _ := os.ReadFile(filepath.Join(out2, "model.safetensors"))
	if string(a) != string(b) {
		t.Error("two inits with one seed wrote different weights")
	}
	if v := ck.Tensors["model.norm.weight"].Data[0]; v != 1 {
		t.Errorf("wrong norm init\ngot:  %#v\nwant: %#v", v, 1)
	}
}

func TestNumParamsMatchesShapes(t *testing.T) {
	for _, arch := range []string{"qwen2", "qwen3", "llama", "mistral", "gemma3"} {
		for _, tie := range []bool{true, false} {
			t.Run(arch+" tie="+strconv.FormatBool(tie), func(t *testing.T) {
				cfg := tinyConfig(t, arch)
				cfg.TieWordEmbeddings = tie
				var want int64
				for _, s := range Shapes(cfg) {
					want += int64((&Tensor{Shape: s}).Len())
				}
				if got := NumParams(cfg); got != want {
					t.Errorf("wrong parameter count\ngot:  %#v\nwant: %#v", got, want)
				}
			})
		}
	}
}
