package stages

import (
	"context"
	"fmt"

	"github.com/hashicorp/hcl/v2"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/llm/train"
)

// The sft kind fine-tunes a model on prompt → reference answers (the
// paper's stage 1, distillation), the prompt tokens masked out of the loss.
//
//	stage "sft" "distill" {
//	  model         = stage.init.tiny                # required: a local checkpoint
//	  prompts       = "data/train.prompts.jsonl"     # required
//	  references    = "data/train.references.jsonl"  # required: one answer per prompt
//	  lr            = 2e-5                           # and every training attribute of trainAttrs (training.go)
//	  batch         = 2                              # examples per forward pass
//	  eval_fraction = 0                              # held-out share; best checkpoint by its loss
//	}
//
// Its output folder is a checkpoint (config.json, model.safetensors, the
// tokenizer files) plus metrics.jsonl (StepLine per step), metrics.json
// (TrainMetrics) and loss.svg. Defaults are RLRR's mle.py settings (see
// the table in docs/stages-models.md).

// SFTVersion is the sft kind's implementation version.
//
// 2: RLRR's defaults, warmup int(ratio × steps), replicas splitting the
// global batch, response tokens of the rendered conversation truncated to
// max_len.
//
// 3: the float32 rounding of training changed (llm/train's DotGeneral
// gradient layouts, closed-form softmax, RMS-norm and SiLU gradients, RMS
// normalization by the reciprocal): the same inputs train to weights and
// metrics a few 1e-3 apart.
//
// 4: with no device granted and replicas unset, min(CPUReplicas,
// grad_accum) replicas instead of one, each on its own goroutine: the
// gradients are summed in another order.
const SFTVersion = "4"

func init() {
	Register(&engine.Kind{Name: "sft", Version: SFTVersion, Schema: sftSchema, Decode: decodeSFT, Env: backendEnv, NonDeterministic: true})
}

var sftSchema = trainSchema(
	hcl.AttributeSchema{Name: "model", Required: true},
	hcl.AttributeSchema{Name: "prompts", Required: true},
	hcl.AttributeSchema{Name: "references", Required: true},
)

type sftStage struct {
	model      ModelRef
	prompts    string
	references string
	t          trainSettings
}

// TrainMetrics is the metrics.json of the sft and dpo kinds: the run's
// size, its last training step, and the held-out metrics before training
// and of the kept (best) checkpoint. DPO fields are absent for SFT.
type TrainMetrics struct {
	Examples     int      `json:"examples"`      // training examples (pairs for DPO)
	EvalExamples int      `json:"eval_examples"` // held-out examples
	Steps        int      `json:"steps"`
	BestStep     int      `json:"best_step"` // step whose weights were saved
	Loss         float64  `json:"loss"`      // last training step
	Accuracy     *float64 `json:"accuracy,omitempty"`
	Margin       *float64 `json:"margin,omitempty"`

	EvalLossBefore     *float64 `json:"eval_loss_before,omitempty"`
	EvalLoss           *float64 `json:"eval_loss,omitempty"` // of the saved checkpoint
	EvalAccuracyBefore *float64 `json:"eval_accuracy_before,omitempty"`
	EvalAccuracy       *float64 `json:"eval_accuracy,omitempty"`
	EvalMarginBefore   *float64 `json:"eval_margin_before,omitempty"`
	EvalMargin         *float64 `json:"eval_margin,omitempty"`
	// EvalLogRatio is the policy's held-out chosen-minus-rejected log-ratio.
	EvalLogRatioBefore *float64 `json:"eval_log_ratio_before,omitempty"`
	EvalLogRatio       *float64 `json:"eval_log_ratio,omitempty"`

	Beta            float64 `json:"beta,omitempty"`
	Seconds         float64 `json:"seconds"`
	TokensPerSec    float64 `json:"tokens_per_sec"`
	ExamplesPerSec  float64 `json:"examples_per_sec"`
	ReferenceSource string  `json:"reference_source,omitempty"`
}

// fill sets the held-out fields from a training result.
func (m *TrainMetrics) fill(res *train.Result, dpo bool) {
	m.Steps, m.BestStep, m.Loss = res.Steps, res.BestStep, res.Final.Loss
	if dpo {
		m.Accuracy, m.Margin = finite(res.Final.Accuracy), finite(res.Final.Margin)
	}
	if len(res.Evals) == 0 {
		return
	}
	before := res.Evals[0]
	best := res.Evals[len(res.Evals)-1]
	for _, e := range res.Evals {
		if e.Step == res.BestStep {
			best = e
		}
	}
	m.EvalLossBefore, m.EvalLoss = finite(before.Loss), finite(best.Loss)
	if dpo {
		m.EvalAccuracyBefore, m.EvalAccuracy = finite(before.Accuracy), finite(best.Accuracy)
		m.EvalMarginBefore, m.EvalMargin = finite(before.Margin), finite(best.Margin)
		m.EvalLogRatioBefore, m.EvalLogRatio = finite(before.LogRatio), finite(best.LogRatio)
	}
}

func decodeSFT(body hcl.Body, ectx *hcl.EvalContext) (engine.Stage, hcl.Diagnostics) {
	a := newAttrs(body, sftSchema, ectx)
	s := &sftStage{t: trainDefaults(false)}
	a.localModel("model", &s.model, "The sft kind trains a local checkpoint, not an endpoint.")
	a.path("prompts", &s.prompts, "a prompts file (JSON Lines of {\"prompt\": …})")
	a.path("references", &s.references, "a references file (JSON Lines of {\"text\": …})")
	decodeTrain(a, &s.t)
	return s, a.diags
}

func (s *sftStage) Inputs() []string { return append(s.model.Inputs(), s.prompts, s.references) }

func (s *sftStage) Run(ctx context.Context, rc *engine.RunContext) error {
	prompts, err := readPrompts(rc.Dir, s.prompts, s.t.Limit)
	if err != nil {
		return err
	}
	refs, err := readTexts(rc.Dir, s.references, len(prompts))
	if err != nil {
		return err
	}
	tr, err := loadTrainee(rc, s.model)
	if err != nil {
		return err
	}
	defer tr.close()
	ct, err := loadChatText(tr.dir)
	if err != nil {
		return err
	}
	all := make([]train.SFTExample, len(prompts))
	for i, p := range prompts {
		ids, resp, err := ct.conversationIDs(p, refs[i], s.t.MaxLen)
		if err != nil {
			return fmt.Errorf("%s line %d: %w", s.prompts, i+1, err)
		}
		all[i] = train.SFTExample{Prompt: ids, Response: resp}
	}
	trainSet, evalSet := split(all, s.t.EvalFraction, s.t.Seed)
	res, m, err := tr.fit(rc, s.t, false, len(trainSet), len(evalSet), func(loop train.Loop, onStep func(train.StepMetrics)) (*train.Result, error) {
		res, err := train.SFT(ctx, tr.model, trainSet, evalSet, train.SFTConfig{Loop: loop}, onStep)
		if err != nil {
			return nil, fmt.Errorf("sft: %w", err)
		}
		return res, nil
	})
	if err != nil {
		return err
	}
	logf(rc, "sft: %d examples, %d steps, final loss %.4f, %.0f tokens/s\n", len(trainSet), res.Steps, res.Final.Loss, m.TokensPerSec)
	return writeMetrics(rc.Out, m)
}
