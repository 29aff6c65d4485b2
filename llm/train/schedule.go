package train

import (
	"fmt"
	"math"
)

// Learning-rate schedules, as named by Hugging Face's lr_scheduler_type.
const (
	ScheduleCosine   = "cosine"   // Linear warmup, then half a cosine from LR down to 0.
	ScheduleLinear   = "linear"   // Linear warmup, then a straight line from LR down to 0.
	ScheduleConstant = "constant" // Linear warmup, then LR.
)

// Schedule gives the learning rate of each optimizer step.
type Schedule struct {
	Kind        string  // ScheduleCosine (when empty), ScheduleLinear or ScheduleConstant.
	LR          float64 // Peak learning rate, reached at the end of warmup.
	WarmupSteps int     // Steps of linear warmup from 0.
	TotalSteps  int     // Optimizer steps in the whole run.
}

// NewSchedule returns the schedule of a run of totalSteps optimizer steps
// whose first int(warmupRatio·totalSteps) steps (rounded down) warm up, as
// RLRR's dpo.py and mle.py compute them (warmup_steps = int(ratio ×
// total)). transformers' Trainer rounds up instead, which makes a run of
// one step warm up for that whole step at learning rate 0.
func NewSchedule(kind string, lr, warmupRatio float64, totalSteps int) (Schedule, error) {
	if kind == "" {
		kind = ScheduleCosine
	}
	switch kind {
	case ScheduleCosine, ScheduleLinear, ScheduleConstant:
	default:
		return Schedule{}, fmt.Errorf("unknown learning-rate schedule %q: use %q, %q or %q", kind, ScheduleCosine, ScheduleLinear, ScheduleConstant)
	}
	if !(lr > 0) || math.IsInf(lr, 0) {
		return Schedule{}, fmt.Errorf("learning rate is %v: it must be a positive number (the paper uses 5e-7)", lr)
	}
	if !(warmupRatio >= 0 && warmupRatio <= 1) {
		return Schedule{}, fmt.Errorf("warmup_ratio is %v: it must be in [0, 1]", warmupRatio)
	}
	return Schedule{Kind: kind, LR: lr, WarmupSteps: int(warmupRatio * float64(totalSteps)), TotalSteps: totalSteps}, nil
}

// At returns the learning rate of optimizer step (0-based), the formulas of
// transformers' get_cosine_schedule_with_warmup and
// get_linear_schedule_with_warmup (num_cycles 0.5).
func (s Schedule) At(step int) float64 {
	if step < s.WarmupSteps {
		return s.LR * float64(step) / float64(max(1, s.WarmupSteps))
	}
	if s.Kind == ScheduleConstant {
		return s.LR
	}
	progress := float64(step-s.WarmupSteps) / float64(max(1, s.TotalSteps-s.WarmupSteps))
	if s.Kind == ScheduleLinear {
		return s.LR * max(0, 1-progress)
	}
	return s.LR * max(0, 0.5*(1+math.Cos(math.Pi*progress)))
}
