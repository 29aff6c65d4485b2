package gguf

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/refeval/refeval/llm/checkpoint"
	"github.com/refeval/refeval/llm/tokenizer"
)

// repoRoot is the repository root, seen from this package.
const repoRoot = "../.."

func TestRoundTrip(t *testing.T) {
	b := NewBuilder()
	meta := []struct {
		key string
		val any
	}{
		{"general.architecture", "qwen2"},
		{"u8", uint8(7)}, {"i8", int8(-7)}, {"u16", uint16(700)}, {"i16", int16(-700)},
		{"u32", uint32(70000)}, {"i32", int32(-70000)}, {"u64", uint64(1 << 40)}, {"i64", int64(-1 << 40)},
		{"f32", float32(1.5)}, {"f64", 2.25}, {"yes", true}, {"no", false},
		{"strings", []string{"a", "", "Ġb c"}}, {"ints", []int32{1, -2, 3}}, {"floats", []float32{0.5}},
	}
	for _, m := range meta {
		if err := b.Set(m.key, m.val); err != nil {
			t.Fatal(err)
		}
	}
	w := []float32{1, 2, 3, 4, 5, 6}
	if err := b.AddTensor("w", []int{2, 3}, F32, w); err != nil {
		t.Fatal(err)
	}
	h := []float32{0.5, -2, 65504, 1e-7, 3.14159}
	if err := b.AddTensor("h", []int{5}, F16, h); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	n, err := b.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) || n != b.Size() || n%Alignment != 0 {
		t.Errorf("wrong size\ngot:  %d written, %d buffered, Size %d\nwant: equal and a multiple of %d", n, buf.Len(), b.Size(), Alignment)
	}
	f, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range meta {
		t.Run(m.key, func(t *testing.T) {
			if diff := cmp.Diff(m.val, f.Metadata[m.key]); diff != "" {
				t.Errorf("wrong value (-want +got):\n%s", diff)
			}
		})
	}
	info, got, err := f.Tensor("w")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(info.Shape, []int{2, 3}) || !slices.Equal(got, w) || info.Offset != 0 {
		t.Errorf("wrong tensor w\ngot:  %v %v offset %d\nwant: [2 3] %v offset 0", info.Shape, got, info.Offset, w)
	}
	info, got, err = f.Tensor("h")
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != F16 || info.Offset != Alignment {
		t.Errorf("wrong tensor h info\ngot:  %#v\nwant: F16 at offset %d", info, Alignment)
	}
	for i, v := range h {
		if d := math.Abs(float64(got[i] - v)); d > math.Abs(float64(v))*1e-3+6e-8 {
			t.Errorf("h[%d]: wrong value\ngot:  %g\nwant: %g", i, got[i], v)
		}
	}
	// The raw header: magic, version 3, 2 tensors, len(meta) keys.
	want := []byte{'G', 'G', 'U', 'F', 3, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, byte(len(meta))}
	if !bytes.HasPrefix(buf.Bytes(), want) {
		t.Errorf("wrong header\ngot:  %v\nwant: %v", buf.Bytes()[:len(want)], want)
	}
}

func TestBadInput(t *testing.T) {
	b := NewBuilder()
	tests := []struct {
		name string
		err  error
	}{
		{"unsupported metadata", b.Set("x", []int{1})},
		{"shape mismatch", b.AddTensor("t", []int{2, 2}, F32, make([]float32, 3))},
		{"zero dimension", b.AddTensor("t", []int{0}, F32, nil)},
		{"five dimensions", b.AddTensor("t", []int{1, 1, 1, 1, 1}, F32, make([]float32, 1))},
		{"quantized type", b.AddTensor("t", []int{1}, Type(2), make([]float32, 1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Error("no error")
			}
		})
	}
	if err := b.AddTensor("t", []int{1}, F32, []float32{1}); err != nil {
		t.Fatal(err)
	}
	if err := b.AddTensor("t", []int{1}, F32, []float32{1}); err == nil {
		t.Error("a duplicate tensor name gave no error")
	}
	for _, data := range [][]byte{nil, []byte("GGUF"), []byte("NOPE\x03\x00\x00\x00"), append([]byte("GGUF\x03\x00\x00\x00"), bytes.Repeat([]byte{0xff}, 16)...)} {
		if _, err := Parse(data); err == nil {
			t.Errorf("Parse(%q): no error", data)
		}
	}
}

func TestTensorName(t *testing.T) {
	tests := []struct {
		hf, want string
		ok       bool
	}{
		{"model.embed_tokens.weight", "token_embd.weight", true},
		{"model.norm.weight", "output_norm.weight", true},
		{"lm_head.weight", "output.weight", true},
		{"model.layers.0.input_layernorm.weight", "blk.0.attn_norm.weight", true},
		{"model.layers.12.self_attn.k_proj.bias", "blk.12.attn_k.bias", true},
		{"model.layers.3.self_attn.o_proj.weight", "blk.3.attn_output.weight", true},
		{"model.layers.3.post_attention_layernorm.weight", "blk.3.ffn_norm.weight", true},
		{"model.layers.3.mlp.down_proj.weight", "blk.3.ffn_down.weight", true},
		{"model.layers.x.mlp.down_proj.weight", "", false},
		{"model.rotary_emb.inv_freq", "", false},
	}
	for _, tt := range tests {
		got, ok := TensorName(tt.hf)
		if got != tt.want || ok != tt.ok {
			t.Errorf("TensorName(%q): wrong name\ngot:  %q %v\nwant: %q %v", tt.hf, got, ok, tt.want, tt.ok)
		}
	}
}

// TestPermuteRows checks the row order convert_hf_to_gguf.py gives a head
// of 4 dims: rows (0 1 | 2 3), halves interleaved to (0 2 1 3).
func TestPermuteRows(t *testing.T) {
	// Two heads of head_dim 4, rows of width 2: row r holds (r, r).
	data := make([]float32, 8*2)
	for r := 0; r < 8; r++ {
		data[2*r], data[2*r+1] = float32(r), float32(r)
	}
	got := permuteRows(data, 2, 4)
	want := []float32{0, 0, 2, 2, 1, 1, 3, 3, 4, 4, 6, 6, 5, 5, 7, 7}
	if !slices.Equal(got, want) {
		t.Errorf("wrong rows\ngot:  %v\nwant: %v", got, want)
	}
	bias := permuteRows([]float32{0, 1, 2, 3, 4, 5}, 1, 6)
	if want := []float32{0, 3, 1, 4, 2, 5}; !slices.Equal(bias, want) {
		t.Errorf("wrong bias\ngot:  %v\nwant: %v", bias, want)
	}
}

// TestExport exports model folders of both architectures and reads the
// files back: metadata, tensor names, shapes, types and values.
// exportAndRead exports the checkpoint in dir as dir/m.gguf, checks the
// file has the size the builder promised, and reads it back.
func exportAndRead(t *testing.T, dir string, opt Options) *File {
	t.Helper()
	b, err := Export(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "m.gguf")
	if err := WriteFile(path, b); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path); err != nil || st.Size() != b.Size() {
		t.Errorf("wrong file size: %v, want %d", st, b.Size())
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestExport(t *testing.T) {
	tests := []struct {
		arch, tokenizer string
		typ             Type
		pre             string
		bos, eos        uint32
		addBOS          bool
	}{
		{"qwen2", "qwen2_5", F32, "qwen2", 151643, 151645, false},
		{"qwen2", "qwen2_5", F16, "qwen2", 151643, 151645, false},
		{"llama", "llama3_2", F32, "llama-bpe", 128000, 128009, true},
	}
	for _, tt := range tests {
		t.Run(tt.arch+"/"+tt.typ.String(), func(t *testing.T) {
			dir := t.TempDir()
			cfg, err := checkpoint.Init(checkpoint.InitOptions{Arch: tt.arch, Size: "tiny", Seed: 3, Out: dir,
				Tokenizer: filepath.Join(repoRoot, "models/tokenizers", tt.tokenizer, "tokenizer.json.gz")})
			if err != nil {
				t.Fatal(err)
			}
			f := exportAndRead(t, dir, Options{Type: tt.typ})
			a := tt.arch
			wantMeta := map[string]any{
				"general.architecture":                  a,
				"general.name":                          filepath.Base(dir),
				a + ".block_count":                      uint32(2),
				a + ".embedding_length":                 uint32(64),
				a + ".attention.head_count":             uint32(4),
				a + ".attention.head_count_kv":          uint32(2),
				a + ".rope.freq_base":                   float32(cfg.RopeTheta),
				"tokenizer.ggml.model":                  "gpt2",
				"tokenizer.ggml.pre":                    tt.pre,
				"tokenizer.ggml.bos_token_id":           tt.bos,
				"tokenizer.ggml.eos_token_id":           tt.eos,
				"tokenizer.ggml.add_bos_token":          tt.addBOS,
				a + ".attention.layer_norm_rms_epsilon": float32(cfg.RMSNormEps),
			}
			for k, want := range wantMeta {
				if diff := cmp.Diff(want, f.Metadata[k]); diff != "" {
					t.Errorf("wrong %s (-want +got):\n%s", k, diff)
				}
			}
			toks, _ := f.Metadata["tokenizer.ggml.tokens"].([]string)
			types, _ := f.Metadata["tokenizer.ggml.token_type"].([]int32)
			if len(toks) != cfg.VocabSize || len(types) != cfg.VocabSize {
				t.Fatalf("wrong vocabulary size\ngot:  %d tokens, %d types\nwant: %d", len(toks), len(types), cfg.VocabSize)
			}
			if toks[tt.eos] == "" || types[tt.eos] != tokenControl || types[0] != tokenNormal {
				t.Errorf("wrong token types: eos %q type %d, token 0 type %d", toks[tt.eos], types[tt.eos], types[0])
			}
			if tmpl, _ := f.Metadata["tokenizer.chat_template"].(string); len(tmpl) < 50 {
				t.Errorf("no chat template: %q", tmpl)
			}
			if merges, _ := f.Metadata["tokenizer.ggml.merges"].([]string); len(merges) < 100000 || merges[0] != "Ġ Ġ" {
				t.Errorf("wrong merges: %d, first %q", len(merges), merges[:1])
			}
			ck, err := checkpoint.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			wantTensors := len(ck.Tensors)
			if a == "llama" {
				wantTensors++ // rope_freqs.weight
			}
			if len(f.Tensors) != wantTensors {
				t.Errorf("wrong tensor count\ngot:  %d\nwant: %d", len(f.Tensors), wantTensors)
			}
			for hf, src := range ck.Tensors {
				name, _ := TensorName(hf)
				info, got, err := f.Tensor(name)
				if err != nil {
					t.Fatal(err)
				}
				want := src.Data
				if a == "llama" && filepath.Ext(hf) == ".weight" && (bytes.Contains([]byte(hf), []byte("q_proj")) || bytes.Contains([]byte(hf), []byte("k_proj"))) {
					heads := cfg.NumAttentionHeads
					if bytes.Contains([]byte(hf), []byte("k_proj")) {
						heads = cfg.NumKeyValueHeads
					}
					want = permuteRows(want, heads, cfg.HeadDim)
				}
				wantType := tt.typ
				if len(src.Shape) == 1 {
					wantType = F32
				}
				if !slices.Equal(info.Shape, src.Shape) || info.Type != wantType {
					t.Errorf("%s: wrong shape or type\ngot:  %v %v\nwant: %v %v", name, info.Shape, info.Type, src.Shape, wantType)
				}
				for i := range want {
					w := want[i]
					if wantType == F16 {
						w = checkpoint.FromFloat16(checkpoint.ToFloat16(w))
					}
					if got[i] != w {
						t.Fatalf("%s[%d]: wrong value\ngot:  %g\nwant: %g", name, i, got[i], w)
					}
				}
			}
			if a == "llama" {
				_, f, err := f.Tensor("rope_freqs.weight")
				if err != nil {
					t.Fatal(err)
				}
				// Llama-3 scaling leaves the fastest frequency alone and divides the slowest by the factor.
				if len(f) != cfg.HeadDim/2 || math.Abs(float64(f[0])-1) > 1e-6 || math.Abs(float64(f[len(f)-1])-cfg.RopeScaling.Factor) > 1e-3 {
					t.Errorf("wrong rope factors: %v", f)
				}
			}
		})
	}
}

func TestGemmaTensorName(t *testing.T) {
	for _, tt := range []struct{ hf, want string }{
		{"model.layers.2.post_attention_layernorm.weight", "blk.2.post_attention_norm.weight"},
		{"model.layers.2.pre_feedforward_layernorm.weight", "blk.2.ffn_norm.weight"},
		{"model.layers.2.post_feedforward_layernorm.weight", "blk.2.post_ffw_norm.weight"},
		{"model.layers.2.self_attn.q_norm.weight", "blk.2.attn_q_norm.weight"},
		{"model.layers.2.input_layernorm.weight", "blk.2.attn_norm.weight"},
	} {
		if got, ok := GemmaTensorName(tt.hf); got != tt.want || !ok {
			t.Errorf("GemmaTensorName(%q): wrong name\ngot:  %q %v\nwant: %q true", tt.hf, got, ok, tt.want)
		}
	}
}

// TestExportFamilies checks what export writes for the SentencePiece and
// Gemma-specific parts, and what it refuses because llama.cpp cannot run it.
func TestExportFamilies(t *testing.T) {
	tok := filepath.Join(repoRoot, "models/tokenizers/llama2/tokenizer.json.gz")
	init := func(t *testing.T, arch string) string {
		dir := t.TempDir()
		if _, err := checkpoint.Init(checkpoint.InitOptions{Arch: arch, Size: "tiny", Seed: 3, Out: dir, Tokenizer: tok}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	for _, arch := range []string{"mistral", "gemma3"} {
		t.Run(arch, func(t *testing.T) {
			dir := init(t, arch)
			f := exportAndRead(t, dir, Options{})
			wantArch := map[string]string{"mistral": "llama", "gemma3": "gemma3"}[arch]
			for k, want := range map[string]any{
				"general.architecture":            wantArch,
				"tokenizer.ggml.model":            "llama",
				"tokenizer.ggml.add_space_prefix": true,
				"tokenizer.ggml.bos_token_id":     uint32(1),
				"tokenizer.ggml.unknown_token_id": uint32(0),
				"tokenizer.ggml.add_bos_token":    true,
			} {
				if got := f.Metadata[k]; got != want {
					t.Errorf("wrong %s\ngot:  %#v\nwant: %#v", k, got, want)
				}
			}
			types, _ := f.Metadata["tokenizer.ggml.token_type"].([]int32)
			scores, _ := f.Metadata["tokenizer.ggml.scores"].([]float32)
			if len(types) != 32000 || len(scores) != 32000 {
				t.Fatalf("wrong vocabulary arrays: %d token types, %d scores, want 32000", len(types), len(scores))
			}
			// <unk>, <s>, <0x0A> (id 13), and ▁t, made by the file's first merge.
			tk, err := tokenizer.Load(tok)
			if err != nil {
				t.Fatal(err)
			}
			first, _ := tk.TokenID("▁t")
			if types[0] != tokenUnknown || types[1] != tokenControl || types[13] != tokenByte || types[first] != tokenNormal {
				t.Errorf("wrong token types of ids 0, 1, 13, %d\ngot:  %v %v %v %v\nwant: 2 3 6 1", first, types[0], types[1], types[13], types[first])
			}
			if scores[first] != 0 || scores[13] != -1e9 {
				t.Errorf("wrong scores of ▁t (first merge) and <0x0A>\ngot:  %v %v\nwant: 0 -1e9", scores[first], scores[13])
			}
			if arch == "gemma3" {
				// Gemma's norms scale by 1 + w; llama.cpp's by w.
				_, norm, err := f.Tensor("blk.0.ffn_norm.weight")
				if err != nil {
					t.Fatal(err)
				}
				if norm[0] != 1 {
					t.Errorf("wrong exported Gemma norm (initialised to 0, exported + 1)\ngot:  %v\nwant: 1", norm[0])
				}
				if got := f.Metadata["gemma3.attention.sliding_window_pattern"]; got != uint32(6) {
					t.Errorf("wrong sliding_window_pattern\ngot:  %#v\nwant: uint32(6)", got)
				}
			}
		})
	}
	for _, tc := range []struct {
		name, arch string
		edit       func(c *checkpoint.Config)
		want       string
	}{
		{"query scalar", "gemma3", func(c *checkpoint.Config) { c.QueryPreAttnScalar = 3 }, "query_pre_attn_scalar"},
		{"layer layout", "gemma3", func(c *checkpoint.Config) { c.SlidingLayers = []bool{false, true} }, "sliding_window_pattern"},
		{"qwen3 bias", "qwen3", func(c *checkpoint.Config) { c.AttentionBias = true }, "attention biases"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := checkpoint.SizedConfig(tc.arch, "tiny", 32000)
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(&cfg)
			_, err = Build(cfg, checkpoint.Random(cfg, 1), nil, nil, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("wrong error\ngot:  %v\nwant: something with %q", err, tc.want)
			}
		})
	}
}
