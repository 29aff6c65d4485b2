package llm

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/refeval/refeval/llm/checkpoint"
)

// TestLogProbsAgainstTorch scores the sequences of the transformer
// package's torch goldens through the facade and compares with the
// log-softmax of the reference logits.
func TestLogProbsAgainstTorch(t *testing.T) {
	cases := []struct {
		name   string
		config func() checkpoint.Config
	}{
		{"qwen2_gqa_bias_tied", func() checkpoint.Config { c, _ := checkpoint.SizedConfig("qwen2", "tiny", 97); return c }},
		{"llama_gqa_rope3_untied", func() checkpoint.Config {
			c, _ := checkpoint.SizedConfig("llama", "tiny", 97)
			c.NumKeyValueHeads, c.TieWordEmbeddings = 1, false
			return c
		}},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("transformer", "testdata", "golden", tc.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var golden struct {
				Sequences [][]int
				Logits    [][][]float64
			}
			if err := json.Unmarshal(data, &golden); err != nil {
				t.Fatal(err)
			}
			cfg := tc.config()
			cfg.EOSTokenIDs = []int{96}
			// The weights transformer_test.go's goldenWeights makes.
			w := checkpoint.Random(cfg, 42)
			for _, x := range w {
				for i := range x.Data {
					x.Data[i] *= 10
				}
			}
			checkpoint.Perturb(w, 42)
			m, err := New(cfg, w, Options{MaxBatch: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			var seqs []Sequence
			var prefixes [][]int
			for _, s := range golden.Sequences {
				seqs = append(seqs, Sequence{Tokens: s, PromptLen: 2})
				prefixes = append(prefixes, s[:3])
			}
			got, err := m.SequenceLogProbs(ctx, seqs)
			if err != nil {
				t.Fatal(err)
			}
			next, err := m.NextTokenLogProbs(ctx, prefixes)
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range golden.Sequences {
				want := 0.0
				for pos := 1; pos < len(s); pos++ {
					lp := logSoftmax(golden.Logits[i][pos-1])
					if pos >= 2 {
						want += float64(lp[s[pos]])
						if d := math.Abs(float64(got[i].Tokens[pos-2] - lp[s[pos]])); d > 1e-4 {
							t.Errorf("wrong log-prob of sequence %d token %d\ngot:  %#v\nwant: %#v", i, pos, got[i].Tokens[pos-2], lp[s[pos]])
						}
					}
				}
				if math.Abs(got[i].Sum-want) > 1e-3 {
					t.Errorf("wrong sum of sequence %d\ngot:  %#v\nwant: %#v", i, got[i].Sum, want)
				}
				lp := logSoftmax(golden.Logits[i][2])
				for k := range lp {
					if d := math.Abs(float64(next[i][k] - lp[k])); d > 1e-4 {
						t.Fatalf("wrong next-token log-prob of prefix %d, token %d\ngot:  %#v\nwant: %#v", i, k, next[i][k], lp[k])
					}
				}
			}
		})
	}
}
