package transformer

import (
	"fmt"
	"math"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/refeval/refeval/llm/checkpoint"
)

// TestFusedQKVMatchesSeparate runs every golden case with q, k and v fused
// (FuseQKV, WithFusedQKV) and separate, and compares the logits.
func TestFusedQKVMatchesSeparate(t *testing.T) {
	eachCase(t, goldenCases, func(t *testing.T, b compute.Backend, tc goldenCase, cfg checkpoint.Config) {
		w := goldenWeights(cfg)
		fused, err := FuseQKV(cfg, w)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := fused["model.layers.0.self_attn.q_proj.weight"]; ok {
			t.Fatal("FuseQKV kept the separate q_proj weight")
		}
		toks, mask := batch(goldenSequences, 12, false)
		logits := func(tr *Transformer, w map[string]*checkpoint.Tensor) []float32 {
			e := model.MustNewExec(b, newStore(t, w), func(scope *model.Scope, tokens, mask *Node) *Node {
				return tr.Logits(VariableWeights(scope), tokens, mask)
			})
			return tensors.MustCopyFlatData[float32](e.MustCall(toks, mask)[0])
		}
		want := logits(New(cfg), w)
		got := logits(New(cfg).WithFusedQKV(), fused)
		worst := 0.0
		for i := range want {
			worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
		}
		if worst > 1e-5 {
			t.Errorf("wrong fused-q/k/v logits\ngot:  max abs difference %g\nwant: <= 1e-5", worst)
		}
	})
}

func TestFuseQKVBadInput(t *testing.T) {
	cfg, err := checkpoint.SizedConfig("qwen2", "tiny", 50)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		spoil func(w map[string]*checkpoint.Tensor)
		want  string
	}{
		{"missing bias", func(w map[string]*checkpoint.Tensor) { delete(w, "model.layers.1.self_attn.v_proj.bias") },
			"fusing q, k and v: no tensor model.layers.1.self_attn.v_proj.bias"},
		{"other input width", func(w map[string]*checkpoint.Tensor) {
			k := w["model.layers.0.self_attn.k_proj.weight"]
			k.Shape = []int{k.Shape[0] * 2, k.Shape[1] / 2}
		}, fmt.Sprintf("fusing q, k and v: model.layers.0.self_attn.k_proj.weight has shape [%d %d], want [*[%d]]",
			2*cfg.NumKeyValueHeads*cfg.HeadDim, cfg.HiddenSize/2, cfg.HiddenSize)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := checkpoint.Random(cfg, 1)
			tt.spoil(w)
			if _, err := FuseQKV(cfg, w); err == nil || err.Error() != tt.want {
				t.Errorf("wrong error\ngot:  %v\nwant: %s", err, tt.want)
			}
		})
	}
}
