package train

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// goldenCase is one entry of testdata/dpo_golden.json, written by
// scripts/dpo_golden.py with PyTorch.
type goldenCase struct {
	LossType          string    `json:"loss_type"`
	Beta              float64   `json:"beta"`
	LabelSmoothing    float64   `json:"label_smoothing"`
	PolicyChosen      []float64 `json:"policy_chosen"`
	PolicyRejected    []float64 `json:"policy_rejected"`
	ReferenceChosen   []float64 `json:"reference_chosen"`
	ReferenceRejected []float64 `json:"reference_rejected"`
	Losses            []float64 `json:"losses"`
	Loss              float64   `json:"loss"`
	GradPC            []float64 `json:"grad_policy_chosen"`
	GradPR            []float64 `json:"grad_policy_rejected"`
	GradRC            []float64 `json:"grad_reference_chosen"`
	GradRR            []float64 `json:"grad_reference_rejected"`
}

func TestPreferenceLossMatchesTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/dpo_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var golden struct{ Cases []goldenCase }
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	if len(golden.Cases) == 0 {
		t.Fatal("testdata/dpo_golden.json has no cases")
	}
	b := testBackend(t)
	for _, c := range golden.Cases {
		c := c
		t.Run(c.LossType, func(t *testing.T) {
			cfg := LossConfig{Kind: c.LossType, Beta: c.Beta, LabelSmoothing: c.LabelSmoothing}
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			exec, err := NewExec(b, func(pc, pr, rc, rr *Node) []*Node {
				losses, _, _ := PreferenceLoss(cfg, pc, pr, rc, rr)
				loss := ReduceAllMean(losses)
				return append([]*Node{losses, loss}, Gradient(loss, pc, pr, rc, rr)...)
			})
			if err != nil {
				t.Fatal(err)
			}
			outs, err := exec.Exec(c.PolicyChosen, c.PolicyRejected, c.ReferenceChosen, c.ReferenceRejected)
			if err != nil {
				t.Fatal(err)
			}
			const tol = 1e-9
			check := func(what string, got *tensors.Tensor, want []float64) {
				t.Helper()
				g := tensors.MustCopyFlatData[float64](got)
				for i := range want {
					if math.Abs(g[i]-want[i]) > tol*max(1, math.Abs(want[i])) {
						t.Errorf("wrong %s\ngot:  %#v\nwant: %#v", what, g, want)
						return
					}
				}
			}
			check("losses", outs[0], c.Losses)
			check("loss", outs[1], []float64{c.Loss})
			check("gradient w.r.t. policy chosen", outs[2], c.GradPC)
			check("gradient w.r.t. policy rejected", outs[3], c.GradPR)
			check("gradient w.r.t. reference chosen", outs[4], c.GradRC)
			check("gradient w.r.t. reference rejected", outs[5], c.GradRR)
		})
	}
}

func TestLossConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  LossConfig
		ok   bool
	}{
		{"default kind", LossConfig{Beta: 0.1}, true},
		{"ipo", LossConfig{Kind: LossIPO, Beta: 0.1}, true},
		{"unknown kind", LossConfig{Kind: "kto", Beta: 0.1}, false},
		{"zero beta", LossConfig{Beta: 0}, false},
		{"nan beta", LossConfig{Beta: math.NaN()}, false},
		{"smoothing too big", LossConfig{Beta: 0.1, LabelSmoothing: 0.5}, false},
		{"smoothing with hinge", LossConfig{Kind: LossHinge, Beta: 0.1, LabelSmoothing: 0.1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != tt.ok {
				t.Errorf("wrong validation\ngot:  %v\nwant ok: %#v", err, tt.ok)
			}
		})
	}
}
