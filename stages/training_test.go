package stages

import (
	"slices"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/llm/train"
)

// TestTrainAttrs checks the one table of training attributes: every
// number has a range and every string choices, every default lies in its
// row's range, the defaults are RLRR's, and a body that sets every
// attribute decodes into the fields the rows name. (A default of another
// type than its field does not compile: attr is generic in the field.)
func TestTrainAttrs(t *testing.T) {
	var probe trainSettings
	for _, r := range trainAttrs {
		if _, isString := r.field(&probe).(*string); isString != (len(r.choices) > 0) || !isString && r.hi <= r.lo {
			t.Errorf("row %s: range [%v, %v], choices %q; a number needs a range (in), a string choices (oneOf)", r.name, r.lo, r.hi, r.choices)
		}
	}
	for _, dpo := range []bool{true, false} {
		d := trainDefaults(dpo)
		for _, r := range trainAttrs {
			switch p := r.field(&d).(type) {
			case *float64:
				if *p < r.lo || *p > r.hi {
					t.Errorf("dpo=%v: %s default %v outside [%v, %v]", dpo, r.name, *p, r.lo, r.hi)
				}
			case *int:
				if float64(*p) < r.lo || float64(*p) > r.hi {
					t.Errorf("dpo=%v: %s default %v outside [%v, %v]", dpo, r.name, *p, r.lo, r.hi)
				}
			case *uint64:
				if float64(*p) < r.lo || float64(*p) > r.hi {
					t.Errorf("dpo=%v: %s default %v outside [%v, %v]", dpo, r.name, *p, r.lo, r.hi)
				}
			case *string:
				if !slices.Contains(r.choices, *p) {
					t.Errorf("dpo=%v: %s default %q not among %q", dpo, r.name, *p, r.choices)
				}
			}
		}
	}
	wantDPO := trainSettings{Loop: train.Loop{LR: 5e-7, Schedule: train.ScheduleCosine, WarmupRatio: 0.1, MicroBatch: 8, GradAccum: 8, Epochs: 1,
		WeightDecay: 0.01, EvalEvery: 400}, MaxLen: DefaultSeqLen}
	wantSFT := trainSettings{Loop: train.Loop{LR: 2e-5, Schedule: train.ScheduleLinear, WarmupRatio: 0.03, MicroBatch: 2, GradAccum: 16, Epochs: 2,
		WeightDecay: 0.01, EvalEvery: 1000}, MaxLen: DefaultSeqLen}
	if got := trainDefaults(true); got != wantDPO {
		t.Errorf("wrong dpo defaults\ngot:  %+v\nwant: %+v", got, wantDPO)
	}
	if got := trainDefaults(false); got != wantSFT {
		t.Errorf("wrong sft defaults\ngot:  %+v\nwant: %+v", got, wantSFT)
	}

	src := `lr = 0.5
weight_decay = 0.2
schedule = "constant"
warmup_ratio = 0
batch = 3
grad_accum = 5
replicas = 2
epochs = 7
max_grad_norm = 1.5
eval_fraction = 0.25
eval_every = 9
max_len = 64
limit = 11
seed = 42
`
	f, diags := hclparse.NewParser().ParseHCL([]byte(src), "t.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	schema := trainSchema()
	if len(schema.Attributes) != len(trainAttrs) {
		t.Fatalf("schema has %d attributes, table %d", len(schema.Attributes), len(trainAttrs))
	}
	a := newAttrs(f.Body, schema, &hcl.EvalContext{})
	got := trainDefaults(true)
	decodeTrain(a, &got)
	if a.diags.HasErrors() {
		t.Fatal(a.diags)
	}
	want := trainSettings{Loop: train.Loop{LR: 0.5, WeightDecay: 0.2, Schedule: train.ScheduleConstant, WarmupRatio: 0, MicroBatch: 3, GradAccum: 5,
		Replicas: 2, Epochs: 7, MaxGradNorm: 1.5, EvalEvery: 9, Seed: 42}, EvalFraction: 0.25, MaxLen: 64, Limit: 11}
	if got != want {
		t.Errorf("wrong decoding\ngot:  %+v\nwant: %+v", got, want)
	}
}

// TestCPUReplicas: a stage granted no device and not setting replicas
// trains with min(CPUReplicas, grad_accum) of them, whatever the host's
// cores; replicas set, or devices granted, win.
func TestCPUReplicas(t *testing.T) {
	for _, c := range []struct {
		replicas, accum, devices, want int
	}{
		{0, 8, 0, CPUReplicas},
		{0, 1, 0, 1},
		{0, 0, 0, 1},
		{3, 8, 0, 3},
		{0, 8, 4, 4},
		{5, 1, 4, 5},
	} {
		ts := trainSettings{Loop: train.Loop{Replicas: c.replicas, GradAccum: c.accum}}
		rc := &engine.RunContext{Devices: make([]int, c.devices)}
		if got := ts.replicas(rc); got != c.want {
			t.Errorf("replicas %d, grad_accum %d, %d devices: %d replicas, want %d", c.replicas, c.accum, c.devices, got, c.want)
		}
	}
}
