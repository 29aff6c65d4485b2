package stages

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/llm/train"
)

// The dpo kind trains a policy on preference pairs with Direct Preference
// Optimization, as RLRR's dpo.py does (defaults are its settings; see the
// table in docs/stages-models.md).
//
//	stage "dpo" "beta" {
//	  for_each        = toset(["0.01", "0.005", "0.02", "0.05", "0.2"])
//	  model           = stage.sft.distill      # required: the policy's starting checkpoint
//	  pairs           = stage.logprobs.ref     # required: folder holding logprobs.jsonl (or pairs.jsonl with reference_free)
//	  eval_pairs      = stage.logprobs.val     # held-out pairs from other prompts; best checkpoint by their loss
//	  beta            = tonumber(each.value)   # 0.01
//	  loss            = "sigmoid"              # sigmoid | ipo | hinge
//	  label_smoothing = 0
//	  reference_free  = false
//	  lr              = 5e-7                   # and every training attribute of trainAttrs (training.go)
//	  batch           = 8                      # pairs per forward pass (2·batch sequences)
//	  eval_fraction   = 0                      # held-out share of pairs instead of eval_pairs
//	}
//
// Its output folder is a checkpoint plus metrics.jsonl, metrics.json
// (TrainMetrics) and loss.svg (loss and margin). A NaN or infinite loss
// fails the stage; nothing is committed.

// DPOVersion is the dpo kind's implementation version.
//
// 2: RLRR's defaults (weight decay 0.01 on every parameter, no clipping,
// warmup int(ratio × steps)), replicas splitting the global batch, response
// tokens of the rendered conversation truncated to max_len.
//
// 3: the float32 rounding of training changed (llm/train's DotGeneral
// gradient layouts, closed-form softmax, RMS-norm and SiLU gradients, RMS
// normalization by the reciprocal): the same inputs train to weights and
// metrics a few 1e-3 apart.
//
// 4: with no device granted and replicas unset, min(CPUReplicas,
// grad_accum) replicas instead of one, each on its own goroutine: the
// gradients are summed in another order.
const DPOVersion = "4"

func init() {
	Register(&engine.Kind{Name: "dpo", Version: DPOVersion, Schema: dpoSchema, Decode: decodeDPO, Env: backendEnv, NonDeterministic: true})
}

var dpoSchema = trainSchema(
	hcl.AttributeSchema{Name: "model", Required: true},
	hcl.AttributeSchema{Name: "pairs", Required: true},
	hcl.AttributeSchema{Name: "eval_pairs"},
	hcl.AttributeSchema{Name: "beta"},
	hcl.AttributeSchema{Name: "loss"},
	hcl.AttributeSchema{Name: "label_smoothing"},
	hcl.AttributeSchema{Name: "reference_free"},
)

type dpoStage struct {
	model         ModelRef
	pairs         string
	evalPairs     string // "" : none, or held out by eval_fraction
	beta          float64
	loss          string
	smoothing     float64
	referenceFree bool
	t             trainSettings
}

func decodeDPO(body hcl.Body, ectx *hcl.EvalContext) (engine.Stage, hcl.Diagnostics) {
	a := newAttrs(body, dpoSchema, ectx)
	s := &dpoStage{beta: 0.01, loss: train.LossSigmoid, t: trainDefaults(true)}
	a.localModel("model", &s.model, "The dpo kind trains a local checkpoint, not an endpoint.")
	a.path("pairs", &s.pairs, "the output folder of a logprobs stage (or of a pairs stage, with reference_free = true)")
	a.path("eval_pairs", &s.evalPairs, "the output folder of a logprobs stage over pairs from other prompts, such as stage.logprobs.val")
	a.number("beta", &s.beta, 1e-9, 1e6)
	a.oneOf("loss", &s.loss, train.LossSigmoid, train.LossIPO, train.LossHinge)
	a.number("label_smoothing", &s.smoothing, 0, 0.5)
	a.boolean("reference_free", &s.referenceFree)
	decodeTrain(a, &s.t)
	if a.has("eval_pairs") && s.t.EvalFraction > 0 {
		a.errorf(a.content.Attributes["eval_fraction"], "Two held-out sets",
			"eval_pairs already gives the held-out pairs; remove eval_fraction (or eval_pairs to hold out a share of the training pairs).")
	}
	return s, a.diags
}

func (s *dpoStage) Inputs() []string {
	in := append(s.model.Inputs(), s.pairs)
	if s.evalPairs != "" {
		in = append(in, s.evalPairs)
	}
	return in
}

// readPreferencePairs reads logprobs.jsonl from folder, or pairs.jsonl
// with zero reference log-probs when referenceFree.
func readPreferencePairs(dir, folder string, referenceFree bool) ([]LogprobPair, string, error) {
	path := filepath.Join(resolve(dir, folder), LogprobsFile)
	lps, err := ReadJSONL[LogprobPair](path)
	if err == nil {
		return lps, LogprobsFile, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, "", fmt.Errorf("reading reference log-probs: %w", err)
	}
	if !referenceFree {
		return nil, "", fmt.Errorf("%s has no %s: give pairs = stage.logprobs.NAME (the reference model's log-probs), or set reference_free = true", folder, LogprobsFile)
	}
	pairs, err := readPairs(dir, folder)
	if err != nil {
		return nil, "", err
	}
	out := make([]LogprobPair, len(pairs))
	for i, p := range pairs {
		out[i] = LogprobPair{Pair: p}
	}
	return out, "none (reference_free)", nil
}

func (s *dpoStage) Run(ctx context.Context, rc *engine.RunContext) error {
	lps, source, err := readPreferencePairs(rc.Dir, s.pairs, s.referenceFree)
	if err != nil {
		return err
	}
	if len(lps) == 0 {
		return fmt.Errorf("%s holds no pairs: every prompt was skipped by the pairs stage (see its metrics.json)", s.pairs)
	}
	if s.t.Limit > 0 && s.t.Limit < len(lps) {
		lps = lps[:s.t.Limit]
	}
	var evalLps []LogprobPair
	if s.evalPairs != "" {
		if evalLps, _, err = readPreferencePairs(rc.Dir, s.evalPairs, s.referenceFree); err != nil {
			return fmt.Errorf("eval_pairs: %w", err)
		}
		if len(evalLps) == 0 {
			return fmt.Errorf("eval_pairs: %s holds no pairs: every prompt was skipped by its pairs stage (see its metrics.json)", s.evalPairs)
		}
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
	examples := func(what string, lps []LogprobPair) ([]train.PairExample, error) {
		out := make([]train.PairExample, len(lps))
		for i, lp := range lps {
			prompt, c, r, err := ct.pairIDs(lp.Pair, s.t.MaxLen)
			if tooLong := (*promptTooLongError)(nil); errors.As(err, &tooLong) {
				// The reference log-probs were cut to the logprobs stage's max_len.
				return nil, fmt.Errorf("%s pair %d: %w, and the logprobs stage's to the same", what, i+1, err)
			}
			if err != nil {
				return nil, fmt.Errorf("%s pair %d: %w", what, i+1, err)
			}
			out[i] = train.PairExample{Prompt: prompt, Chosen: c, Rejected: r, RefChosen: lp.ChosenLogprob, RefRejected: lp.RejectedLogprob}
		}
		return out, nil
	}
	all, err := examples("training", lps)
	if err != nil {
		return err
	}
	trainSet, evalSet := split(all, s.t.EvalFraction, s.t.Seed)
	if evalLps != nil {
		if evalSet, err = examples("eval", evalLps); err != nil {
			return err
		}
	}
	res, m, err := tr.fit(rc, s.t, true, len(trainSet), len(evalSet), func(loop train.Loop, onStep func(train.StepMetrics)) (*train.Result, error) {
		logf(rc, "dpo: beta %g, %s loss, %d training and %d held-out pairs, %d steps of %d pairs (%d replicas), reference log-probs from %s\n",
			s.beta, s.loss, len(trainSet), len(evalSet), steps(len(trainSet), s.t), s.t.MicroBatch*s.t.GradAccum, loop.Replicas, source)
		res, err := train.DPO(ctx, tr.model, trainSet, evalSet, train.DPOConfig{
			Beta: s.beta, Loss: s.loss, LabelSmoothing: s.smoothing, ReferenceFree: s.referenceFree, Loop: loop,
		}, onStep)
		if err != nil {
			return nil, fmt.Errorf("dpo (beta %g): %w; nothing was saved", s.beta, err)
		}
		return res, nil
	})
	if err != nil {
		return err
	}
	m.Beta, m.ReferenceSource = s.beta, source
	logf(rc, "dpo: %d steps in %.1fs, %.1f pairs/s; final loss %.4f\n", res.Steps, m.Seconds, m.ExamplesPerSec, res.Final.Loss)
	return writeMetrics(rc.Out, m)
}
