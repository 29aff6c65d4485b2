package train

// StepMetrics describes one optimizer step (or, in Eval, one evaluation).
// Means are over the pairs (DPO) or the response tokens (SFT) of the step's
// global batch. Its JSON form is one line of a stage's metrics.jsonl.
type StepMetrics struct {
	Step           int          `json:"step"`            // 1-based optimizer step; in Result.Evals, the step after which it ran (0: before training).
	Epoch          float64      `json:"epoch"`           // Fraction of the training data seen so far, in epochs.
	Loss           float64      `json:"loss"`            // Mean loss.
	Accuracy       float64      `json:"accuracy"`        // DPO: fraction of pairs whose chosen reward exceeds the rejected one.
	RewardChosen   float64      `json:"reward_chosen"`   // DPO: mean β(πc − rc).
	RewardRejected float64      `json:"reward_rejected"` // DPO: mean β(πr − rr).
	Margin         float64      `json:"margin"`          // DPO: mean RewardChosen − RewardRejected.
	LogRatio       float64      `json:"log_ratio"`       // DPO: mean πc − πr, the policy's chosen-minus-rejected log-ratio.
	LR             float64      `json:"lr"`              // Learning rate this step used.
	GradNorm       float64      `json:"grad_norm"`       // Global gradient norm before clipping.
	Tokens         int          `json:"tokens"`          // Non-padding tokens processed.
	TokensPerSec   float64      `json:"tokens_per_sec"`  // Tokens over the step's wall time.
	Eval           *StepMetrics `json:"eval,omitempty"`  // Set on steps after which an evaluation ran.
}

// stats accumulates the sums behind StepMetrics over micro-batches.
type stats struct {
	loss                       float64 // Already weighted: the sum over a global batch is the mean.
	n                          int     // Examples.
	correct                    int
	chosen, rejected, logRatio float64
	tokens                     int
}

func (s *stats) metrics(step int) StepMetrics {
	m := StepMetrics{Step: step, Loss: s.loss, Tokens: s.tokens}
	if s.n > 0 {
		n := float64(s.n)
		m.Accuracy = float64(s.correct) / n
		m.RewardChosen = s.chosen / n
		m.RewardRejected = s.rejected / n
		m.Margin = (s.chosen - s.rejected) / n
		m.LogRatio = s.logRatio / n
	}
	return m
}
