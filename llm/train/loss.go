package train

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads as math.
)

// Preference loss kinds, as named by TRL's DPOConfig.loss_type.
const (
	LossSigmoid       = "sigmoid"        // −(1−ε)·log σ(βx) − ε·log σ(−βx): DPO with conservative label smoothing ε.
	LossIPO           = "ipo"            // (x − 1/(2β))²: IPO (Azar et al., 2023).
	LossHinge         = "hinge"          // relu(1 − βx): SLiC (Zhao et al., 2023).
	LossReferenceFree = "reference_free" // The sigmoid loss with the reference log-probs taken as 0.
)

// LossConfig selects a preference loss.
type LossConfig struct {
	Kind           string  // LossSigmoid (when empty), LossIPO, LossHinge or LossReferenceFree.
	Beta           float64 // β: strength of the KL penalty towards the reference; must be > 0.
	LabelSmoothing float64 // ε in [0, 0.5): probability that a preference label is flipped (sigmoid only).
	ReferenceFree  bool    // Take rc = rr = 0, with any Kind.
}

// normalized returns c with Kind filled in and LossReferenceFree turned
// into sigmoid with ReferenceFree set.
func (c LossConfig) normalized() LossConfig {
	if c.Kind == "" {
		c.Kind = LossSigmoid
	}
	if c.Kind == LossReferenceFree {
		c.Kind, c.ReferenceFree = LossSigmoid, true
	}
	return c
}

// Validate reports a config that PreferenceLoss cannot build.
func (c LossConfig) Validate() error {
	c = c.normalized()
	switch c.Kind {
	case LossSigmoid, LossIPO, LossHinge:
	default:
		return fmt.Errorf("unknown DPO loss %q: use %q, %q, %q or %q", c.Kind, LossSigmoid, LossIPO, LossHinge, LossReferenceFree)
	}
	if !(c.Beta > 0) || math.IsInf(c.Beta, 0) {
		return fmt.Errorf("DPO beta is %v: it must be a positive number (the paper uses 0.01)", c.Beta)
	}
	if !(c.LabelSmoothing >= 0 && c.LabelSmoothing < 0.5) {
		return fmt.Errorf("DPO label_smoothing is %v: it must be in [0, 0.5)", c.LabelSmoothing)
	}
	if c.LabelSmoothing != 0 && c.Kind != LossSigmoid {
		return fmt.Errorf("DPO label_smoothing applies only to the %q loss, not %q", LossSigmoid, c.Kind)
	}
	return nil
}

// PreferenceLoss builds the per-pair preference loss from summed response
// log-probs of the chosen and rejected responses under the policy (pc, pr)
// and the reference model (rc, rr), all float [n]. With
// x = (pc − pr) − (rc − rr) it returns the loss [n] of c.Kind and the
// implicit rewards β(pc − rc) and β(pr − rr) [n], as TRL's DPOTrainer does.
// The rewards carry no gradient. c must pass Validate.
func PreferenceLoss(c LossConfig, pc, pr, rc, rr *Node) (loss, rewardChosen, rewardRejected *Node) {
	c = c.normalized()
	if c.ReferenceFree {
		rc, rr = ZerosLike(pc), ZerosLike(pr)
	}
	beta := c.Beta
	x := Sub(Sub(pc, pr), Sub(rc, rr))
	switch c.Kind {
	case LossSigmoid:
		// −log σ(z) = softplus(−z).
		z := MulScalar(x, beta)
		loss = MulScalar(Softplus(Neg(z)), 1-c.LabelSmoothing)
		if c.LabelSmoothing != 0 {
			loss = Add(loss, MulScalar(Softplus(z), c.LabelSmoothing))
		}
	case LossIPO:
		loss = Square(AddScalar(x, -1/(2*beta)))
	case LossHinge:
		loss = MaxScalar(OneMinus(MulScalar(x, beta)), 0.0)
	default:
		panic(fmt.Sprintf("unknown DPO loss %q", c.Kind))
	}
	rewardChosen = StopGradient(MulScalar(Sub(pc, rc), beta))
	rewardRejected = StopGradient(MulScalar(Sub(pr, rr), beta))
	return loss, rewardChosen, rewardRejected
}
