package transformer

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/refeval/refeval/llm/checkpoint"
)

var writeCheckpoints = flag.String("write-checkpoints", "", "write the golden test checkpoints into this folder (for scripts/reference.py) and skip comparing")

// goldenCases are tiny models covering both architectures, grouped-query
// and multi-head attention, biases, tied and untied embeddings and llama3
// RoPE scaling. Weights are Random with std scaled to 0.2 (so logits are
// O(1) and a 1e-4 comparison means something) and perturbed norms/biases.
var goldenCases = []goldenCase{
	{"qwen2_gqa_bias_tied", "qwen2", func(c *checkpoint.Config) {}},
	{"qwen2_mha_untied", "qwen2", func(c *checkpoint.Config) {
		c.NumKeyValueHeads = c.NumAttentionHeads
		c.TieWordEmbeddings = false
	}},
	{"llama_gqa_rope3_untied", "llama", func(c *checkpoint.Config) {
		c.NumKeyValueHeads = 1
		c.TieWordEmbeddings = false
	}},
	{"llama_bias_norope3_tied", "llama", func(c *checkpoint.Config) {
		c.RopeScaling = nil
		c.AttentionBias = true
		c.RopeTheta = 10000
	}},
	{"qwen3_gqa_qknorm_tied", "qwen3", func(c *checkpoint.Config) {
		c.HeadDim = 24 // wider than hidden/heads, as Qwen3's 128 heads over 1024
	}},
	{"qwen3_bias_untied", "qwen3", func(c *checkpoint.Config) {
		c.AttentionBias = true
		c.TieWordEmbeddings = false
	}},
	// A window of 4 positions: the 12-token sequence leaves it 8 times.
	{"mistral_swa4_untied", "mistral", func(c *checkpoint.Config) {
		c.SlidingWindow = 4
		c.TieWordEmbeddings = false
	}},
	// Local, global, local layers; window 3; local base 1e4, global 1e6;
	// query_pre_attn_scalar unlike head_dim.
	{"gemma3_swa3_mixed", "gemma3", func(c *checkpoint.Config) {
		c.NumHiddenLayers = 3
		c.SlidingLayers = []bool{true, false, true}
		c.SlidingWindow = 3
		c.QueryPreAttnScalar = 24
		c.NumKeyValueHeads = 1
	}},
	{"gemma3_linear_rope_untied", "gemma3", func(c *checkpoint.Config) {
		c.SlidingLayers = []bool{false, true}
		c.SlidingWindow = 5
		c.RopeScaling = &checkpoint.RopeScaling{Type: "linear", Factor: 8}
		c.TieWordEmbeddings = false
	}},
}

// goldenCase is a tiny model: the "tiny" size of arch, edited.
type goldenCase struct {
	name, arch string
	edit       func(c *checkpoint.Config)
}

func (tc goldenCase) config() checkpoint.Config {
	c := base(tc.arch)
	tc.edit(&c)
	return c
}

// goldenSequences are scored by the reference; lengths differ so batches pad.
var goldenSequences = [][]int{
	{1, 5, 9, 13, 2, 7, 96, 40, 33, 0, 11, 12},
	{3, 3, 3, 50},
	{90, 1, 42, 17, 8, 64, 20},
}

func base(arch string) checkpoint.Config {
	c, err := checkpoint.SizedConfig(arch, "tiny", 97)
	if err != nil {
		panic(err)
	}
	c.EOSTokenIDs = []int{96}
	return c
}

func goldenWeights(cfg checkpoint.Config) map[string]*checkpoint.Tensor {
	w := checkpoint.Random(cfg, 42)
	for _, t := range w {
		for i := range t.Data {
			t.Data[i] *= 10
		}
	}
	checkpoint.Perturb(w, 42)
	return w
}

// batch pads seqs to one length; left puts the padding first.
func batch(seqs [][]int, length int, left bool) ([][]int32, [][]bool) {
	toks := make([][]int32, len(seqs))
	mask := make([][]bool, len(seqs))
	for i, s := range seqs {
		toks[i] = make([]int32, length)
		mask[i] = make([]bool, length)
		off := 0
		if left {
			off = length - len(s)
		}
		for j, v := range s {
			toks[i][off+j] = int32(v)
			mask[i][off+j] = true
		}
	}
	return toks, mask
}

func newStore(t testing.TB, w map[string]*checkpoint.Tensor) *model.Store {
	t.Helper()
	store := model.NewStore()
	if err := LoadIntoStore(store, w); err != nil {
		t.Fatal(err)
	}
	return store
}

// golden is the torch reference's output for one golden case: float64
// logits [sequence][position][vocab].
type golden struct {
	Sequences [][]int
	Logits    [][][]float64
}

func readGolden(t *testing.T, name string) golden {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "golden", name+".json"))
	if err != nil {
		t.Fatalf("%v; regenerate with scripts/make_goldens.sh", err)
	}
	var g golden
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	return g
}

// TestGolden compares, for every golden case and right- and left-padded
// batches, the logits with the torch reference's and the token log-probs
// (TargetLogProbs, the gather llm scoring and llm/train share) with
// log-softmax of its float64 logits.
func TestGolden(t *testing.T) {
	eachCase(t, goldenCases, func(t *testing.T, b compute.Backend, tc goldenCase, cfg checkpoint.Config) {
		w := goldenWeights(cfg)
		if *writeCheckpoints != "" {
			dir := filepath.Join(*writeCheckpoints, tc.name)
			if err := checkpoint.Save(dir, cfg, w, checkpoint.SaveOptions{}); err != nil {
				t.Fatal(err)
			}
			data, _ := json.Marshal(goldenSequences)
			if err := os.WriteFile(filepath.Join(dir, "sequences.json"), data, 0o666); err != nil {
				t.Fatal(err)
			}
			t.Skip("wrote checkpoint; run scripts/make_goldens.sh")
		}
		ref := readGolden(t, tc.name)
		tr := New(cfg)
		exec := model.MustNewExec(b, newStore(t, w), func(scope *model.Scope, tokens, mask *Node) []*Node {
			w := VariableWeights(scope)
			return []*Node{tr.Logits(w, tokens, mask), tokenLogProbs(tr, w, tokens, mask)}
		})
		const length = 14
		for _, left := range []bool{false, true} {
			toks, mask := batch(ref.Sequences, length, left)
			out := exec.MustCall(toks, mask)
			logits := tensors.MustCopyFlatData[float32](out[0])
			logProbs := tensors.MustCopyFlatData[float32](out[1])
			v := cfg.VocabSize
			worst, worstLP, scored := 0.0, 0.0, 0
			for i, s := range ref.Sequences {
				off := 0
				if left {
					off = length - len(s)
				}
				for j := range s {
					sum := 0.0 // Reference logits are O(1): no shift needed in float64.
					for k := 0; k < v; k++ {
						got := float64(logits[(i*length+off+j)*v+k])
						worst = math.Max(worst, math.Abs(got-ref.Logits[i][j][k]))
						sum += math.Exp(ref.Logits[i][j][k])
					}
					if j+1 < len(s) {
						want := ref.Logits[i][j][s[j+1]] - math.Log(sum)
						worstLP = math.Max(worstLP, math.Abs(float64(logProbs[i*length+off+j])-want))
						scored++
					}
				}
			}
			if worst > 1e-4 {
				t.Errorf("wrong logits (left padding %v)\ngot:  max abs difference %g\nwant: <= 1e-4", left, worst)
			}
			if worstLP > 1e-4 || scored != 11+3+6 {
				t.Errorf("wrong token log-probs (left padding %v)\ngot:  max abs difference %g over %d positions\nwant: <= 1e-4 over 20", left, worstLP, scored)
			}
			t.Logf("left=%v: max |Δlogit| vs torch = %.2g, max |Δlog-prob| = %.2g", left, worst, worstLP)
		}
	})
}

// TestCachedDecodeMatchesFullForward prefills part of each sequence, then
// decodes the rest one token at a time through the KV cache, and compares
// the hidden-state logits with the full forward pass.
func TestCachedDecodeMatchesFullForward(t *testing.T) {
	eachCase(t, goldenCases, func(t *testing.T, b compute.Backend, tc goldenCase, cfg checkpoint.Config) {
		tr := New(cfg)
		store := newStore(t, goldenWeights(cfg))
		const seqLen, cacheLen = 12, 16
		full := model.MustNewExec(b, store, func(scope *model.Scope, tokens, mask *Node) *Node {
			return tr.Logits(VariableWeights(scope), tokens, mask)
		})
		prefill := model.MustNewExec(b, store, func(scope *model.Scope, in []*Node) []*Node {
			w := VariableWeights(scope)
			h, cache := tr.Prefill(w, in[0], in[1], cacheLen)
			return append([]*Node{tr.LMHead(w, h)}, cache.Nodes()...)
		})
		step := model.MustNewExec(b, store, func(scope *model.Scope, in []*Node) []*Node {
			w := VariableWeights(scope)
			h, cache := tr.DecodeStep(w, in[0], in[1], CacheFromNodes(in[2:]))
			return append([]*Node{tr.LMHead(w, h)}, cache.Nodes()...)
		})
		// Prompts of different lengths, right-padded to 8.
		prompts := [][]int{goldenSequences[0][:5], goldenSequences[1][:2], goldenSequences[2][:7]}
		seqs := [][]int{goldenSequences[0][:seqLen], append(append([]int{}, goldenSequences[1]...), 7, 8, 9, 10, 11, 12, 13, 14), append(append([]int{}, goldenSequences[2]...), 1, 2, 3, 4, 5)}
		toks, mask := batch(seqs, seqLen, false)
		want := tensors.MustCopyFlatData[float32](full.MustCall(toks, mask)[0])
		ptoks, pmask := batch(prompts, 8, false)
		out := prefill.MustCall(ptoks, pmask)
		v := cfg.VocabSize
		worst, compared := 0.0, 0
		compare := func(logits []float32, posOf func(i int) int) {
			for i := range seqs {
				p := posOf(i)
				if p >= seqLen {
					continue
				}
				compared++
				for k := 0; k < v; k++ {
					worst = math.Max(worst, math.Abs(float64(logits[i*v+k]-want[(i*seqLen+p)*v+k])))
				}
			}
		}
		compare(tensors.MustCopyFlatData[float32](out[0]), func(i int) int { return len(prompts[i]) - 1 })
		cache := out[1:]
		for s := 0; s < seqLen; s++ {
			tok := make([]int32, len(seqs))
			pos := make([]int32, len(seqs))
			for i := range seqs {
				p := min(len(prompts[i])+s, seqLen-1)
				pos[i] = int32(p)
				tok[i] = int32(seqs[i][p])
			}
			args := []any{tok, pos}
			for _, c := range cache {
				args = append(args, c)
			}
			out := step.MustCall(args...)
			compare(tensors.MustCopyFlatData[float32](out[0]), func(i int) int {
				if len(prompts[i])+s >= seqLen {
					return seqLen
				}
				return len(prompts[i]) + s
			})
			cache = out[1:]
		}
		wantCompared := 0
		for _, p := range prompts {
			wantCompared += seqLen - len(p) + 1
		}
		if compared != wantCompared {
			t.Errorf("wrong number of positions compared\ngot:  %#v\nwant: %#v", compared, wantCompared)
		}
		if worst > 1e-4 {
			t.Errorf("wrong cached logits\ngot:  max abs difference %g\nwant: <= 1e-4", worst)
		}
		t.Logf("max |Δlogit| cached vs full = %.2g", worst)
	})
}
