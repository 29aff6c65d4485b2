package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads as math.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/refeval/refeval/llm/bucket"
)

// objective is what DPO and SFT differ in: how examples become padded
// micro-batches and how a micro-batch becomes a loss.
type objective interface {
	size() int                   // Examples in the dataset.
	seqLen(i int) int            // Longest row of example i, in tokens.
	tokens(i int) int            // Non-padding tokens of example i.
	weights(idx []int) []float64 // Per-example weights over a global batch; they sum to 1.
	// pack returns the graph inputs for examples idx, padded to rows
	// examples and seq tokens; padding rows get weight 0.
	pack(idx []int, w []float64, rows, seq int) []any
	// graph builds the weighted loss (scalar: Σ w_i loss_i) and the
	// per-example outputs that add reads.
	graph(m *Model, scope *model.Scope, in []*Node) (loss *Node, outs []*Node)
	add(s *stats, outs []*tensors.Tensor, n int) error
}

// Loop is the optimizer and data-order settings DPO and SFT share; both
// configs embed it. A zero count (MicroBatch, GradAccum, Replicas, Epochs)
// is 1; every other zero means what it says: no warmup, no weight decay,
// no clipping, evaluation only at the end, no length limit.
type Loop struct {
	LR          float64 // Peak learning rate (required).
	WeightDecay float64 // AdamW decoupled weight decay λ on every parameter, as torch.optim.AdamW.
	Schedule    string  // ScheduleCosine (default), ScheduleLinear or ScheduleConstant.
	WarmupRatio float64 // Fraction of steps warming up linearly, in [0, 1]: int(ratio × steps) steps.
	MicroBatch  int     // Examples (DPO: pairs) per forward pass; a DPO forward holds 2·MicroBatch sequences.
	GradAccum   int     // Micro-batches per optimizer step, over all replicas; global batch = MicroBatch·GradAccum.
	Replicas    int     // Data-parallel replicas sharing the micro-batches of a step; they split the global batch, never enlarge it.
	Epochs      int     // Passes over the training examples.
	MaxGradNorm float64 // Clip the global gradient norm to this (0: no clipping, as RLRR; TRL uses 1).
	EvalEvery   int     // Evaluate on the eval examples every this many steps (0: only before and at the end).
	MaxSeqLen   int     // Reject examples whose prompt+response is longer (0: no limit).
	Seed        uint64  // Seeds the data order.
}

// counted returns l with its zero counts set to 1.
func (l Loop) counted() Loop {
	for _, p := range []*int{&l.MicroBatch, &l.GradAccum, &l.Epochs, &l.Replicas} {
		if *p == 0 {
			*p = 1
		}
	}
	return l
}

func (c *Loop) validate() error {
	if c.MicroBatch <= 0 || c.GradAccum <= 0 || c.Epochs <= 0 || c.Replicas <= 0 {
		return fmt.Errorf("micro_batch (%d), grad_accum (%d), epochs (%d) and replicas (%d) must all be at least 1",
			c.MicroBatch, c.GradAccum, c.Epochs, c.Replicas)
	}
	if c.WeightDecay < 0 || c.MaxGradNorm < 0 || c.EvalEvery < 0 || math.IsNaN(c.WeightDecay) || math.IsNaN(c.MaxGradNorm) {
		return fmt.Errorf("weight_decay (%v), max_grad_norm (%v) and eval_every (%d) must not be negative", c.WeightDecay, c.MaxGradNorm, c.EvalEvery)
	}
	return nil
}

// Result is what a training run leaves besides the updated weights.
type Result struct {
	Steps        int           // Optimizer steps taken.
	Final        StepMetrics   // The last step's metrics.
	Evals        []StepMetrics // Every evaluation, in order; the first is before training.
	BestStep     int           // Step whose weights the Store holds on return: the best by eval loss, or the last step without eval data.
	BestEvalLoss float64       // Eval loss of BestStep; NaN without eval data.
}

// run is the training loop shared by DPO and SFT.
func run(ctx context.Context, m *Model, train, eval objective, cfg Loop, onStep func(StepMetrics)) (res *Result, err error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if train.size() == 0 {
		return nil, fmt.Errorf("train: no training examples")
	}
	if err := checkSeqLen(cfg.MaxSeqLen, train, eval); err != nil {
		return nil, err
	}
	global := cfg.MicroBatch * cfg.GradAccum
	stepsPerEpoch := (train.size() + global - 1) / global
	total := stepsPerEpoch * cfg.Epochs
	sched, err := NewSchedule(cfg.Schedule, cfg.LR, cfg.WarmupRatio, total)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	if err := checkUpdates(sched); err != nil {
		return nil, err
	}
	opt, err := newOptimizer(m, cfg.Replicas, cfg.WeightDecay, cfg.MaxGradNorm)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := opt.close(m.Store); cerr != nil && err == nil {
			err = fmt.Errorf("train: removing optimizer state: %w", cerr)
		}
	}()

	// One executor per replica: each adds its gradients to its own
	// accumulators; the optimizer sums them (the all-reduce) and steps once.
	grads := &replicaExecs{execs: make([]*model.Exec, cfg.Replicas), compiled: make([]map[int]bool, cfg.Replicas)}
	for r := range grads.execs {
		grads.compiled[r] = map[int]bool{}
		grads.execs[r], err = model.NewExec(m.Backend, m.Store, func(scope *model.Scope, in []*Node) []*Node {
			loss, outs := train.graph(m, scope, in)
			opt.accumulateGraph(loss.Graph(), r, loss)
			return append([]*Node{loss}, outs...)
		})
		if err != nil {
			return nil, err
		}
	}
	var evalExec *model.Exec
	if eval != nil && eval.size() > 0 {
		evalExec, err = model.NewExec(m.Backend, m.Store, func(scope *model.Scope, in []*Node) []*Node {
			loss, outs := eval.graph(m, scope, in)
			return append([]*Node{loss}, outs...)
		})
		if err != nil {
			return nil, err
		}
	}

	res = &Result{BestEvalLoss: math.NaN()}
	var best []*tensors.Tensor
	evaluate := func(step int) error {
		if evalExec == nil {
			return nil
		}
		em, err := runEval(ctx, evalExec, eval, cfg)
		if err != nil {
			return fmt.Errorf("train: evaluation after step %d: %w", step, err)
		}
		em.Step = step
		em.Epoch = float64(step) / float64(stepsPerEpoch)
		res.Evals = append(res.Evals, em)
		if step > 0 && (best == nil || em.Loss < res.BestEvalLoss) {
			best, err = snapshot(opt.params)
			if err != nil {
				return err
			}
			res.BestStep, res.BestEvalLoss = step, em.Loss
		}
		return nil
	}
	if err := evaluate(0); err != nil {
		return nil, err
	}

	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	step := 0
	for range cfg.Epochs {
		order := rng.Perm(train.size())
		for start := 0; start < len(order); start += global {
			batch := order[start:min(start+global, len(order))]
			begin := time.Now()
			st, err := accumulate(ctx, grads, train, batch, cfg)
			if err != nil {
				return nil, fmt.Errorf("train: step %d: %w", step+1, err)
			}
			lr := sched.At(step)
			step++
			norm, err := opt.step(lr, step)
			if err != nil {
				return nil, err
			}
			if math.IsNaN(norm) || math.IsInf(norm, 0) {
				return nil, fmt.Errorf("train: step %d: gradient norm is %v: training diverged; lower the learning rate or set max_grad_norm", step, norm)
			}
			sm := st.metrics(step)
			sm.Epoch = float64(step) / float64(stepsPerEpoch)
			sm.LR, sm.GradNorm = lr, norm
			if d := time.Since(begin).Seconds(); d > 0 {
				sm.TokensPerSec = float64(sm.Tokens) / d
			}
			if evalExec != nil && ((cfg.EvalEvery > 0 && step%cfg.EvalEvery == 0) || step == total) {
				if err := evaluate(step); err != nil {
					return nil, err
				}
				ev := res.Evals[len(res.Evals)-1]
				sm.Eval = &ev
			}
			res.Steps, res.Final = step, sm
			if onStep != nil {
				onStep(sm)
			}
		}
	}
	if best != nil && res.BestStep != step {
		if err := restore(opt.params, best); err != nil {
			return nil, err
		}
	}
	if best == nil {
		res.BestStep = step
	}
	return res, nil
}

// checkUpdates refuses a run that would leave the weights as they are:
// no optimizer step, or a learning rate of 0 at every step (a one-step run
// whose step is all warmup).
func checkUpdates(s Schedule) error {
	if s.TotalSteps < 1 {
		return fmt.Errorf("train: the run makes no optimizer step: give it training examples")
	}
	for step := range s.TotalSteps {
		if s.At(step) > 0 {
			return nil
		}
	}
	return fmt.Errorf("train: every one of the %d optimizer steps has learning rate 0 (%d warmup steps of %d): the weights would not change; lower warmup_ratio, or train on more examples or epochs", s.TotalSteps, s.WarmupSteps, s.TotalSteps)
}

// checkSeqLen reports the first training or eval example longer than
// maxLen tokens (0: no limit) before any step runs, rather than at the
// step that meets it.
func checkSeqLen(maxLen int, train, eval objective) error {
	if maxLen <= 0 {
		return nil
	}
	for _, set := range []struct {
		name string
		obj  objective
	}{{"training", train}, {"eval", eval}} {
		if set.obj == nil {
			continue
		}
		for i := range set.obj.size() {
			if n := set.obj.seqLen(i); n > maxLen {
				return fmt.Errorf("train: %s example %d has %d tokens, over max_seq_len %d: drop or truncate long examples first", set.name, i, n, maxLen)
			}
		}
	}
	return nil
}

// accumulate runs the gradient executors over one global batch: its
// examples are cut into micro-batches dealt round-robin to the replicas, so
// replicas split the global batch and never enlarge it. Each replica runs
// its micro-batches in order on its own goroutine, so replicas on one CPU
// keep its cores busy (the pure-Go backend runs all but matrix products on
// the calling goroutine). Each replica adds into its own accumulators, so
// the gradients do not depend on how the goroutines interleave, and the
// statistics are added in micro-batch order afterwards.
func accumulate(ctx context.Context, grads *replicaExecs, obj objective, batch []int, cfg Loop) (*stats, error) {
	w := obj.weights(batch)
	var micros []micro
	for start := 0; start < len(batch); start += cfg.MicroBatch {
		end := min(start+cfg.MicroBatch, len(batch))
		micros = append(micros, micro{idx: batch[start:end], w: w[start:end]})
	}
	defer func() {
		for _, m := range micros {
			for _, t := range m.outs {
				t.FinalizeAll()
			}
		}
	}()
	n := len(grads.execs)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for r := range min(n, len(micros)) {
		wg.Go(func() {
			for k := r; k < len(micros); k += n {
				if errs[r] = ctx.Err(); errs[r] != nil {
					return
				}
				if errs[r] = grads.run(r, &micros[k], obj, cfg); errs[r] != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err // the first replica's: a cancelled step is one "context canceled", not one per replica
		}
	}
	st := &stats{}
	for _, m := range micros {
		if err := m.add(obj, st); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// replicaExecs is the replicas' gradient executors. Replicas run
// concurrently, except that building an executor's graph for a new shape
// reads every variable of the store (GoMLX's model.Exec looks for the
// variables the graph changed) while other replicas would be setting their
// accumulators: a replica meeting a sequence length for the first time runs
// alone.
type replicaExecs struct {
	execs    []*model.Exec
	mu       sync.RWMutex
	compiled []map[int]bool // compiled[r][seq]: replica r has built its graph for seq tokens; under mu
}

// run runs replica r's executor on m, alone if its graph is not built yet.
func (x *replicaExecs) run(r int, m *micro, obj objective, cfg Loop) error {
	seq := m.seq(obj)
	x.mu.RLock()
	if x.compiled[r][seq] {
		defer x.mu.RUnlock()
		return m.run(x.execs[r], obj, seq, cfg)
	}
	x.mu.RUnlock()
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := m.run(x.execs[r], obj, seq, cfg); err != nil {
		return err
	}
	x.compiled[r][seq] = true
	return nil
}

// micro is one micro-batch: its examples, their weights and, once run, the
// executor's outputs.
type micro struct {
	idx  []int
	w    []float64
	outs []*tensors.Tensor
}

// seq is the padded length of the micro-batch's rows.
func (m *micro) seq(obj objective) int {
	seq := 2
	for _, i := range m.idx {
		seq = max(seq, obj.seqLen(i))
	}
	return bucket.Seq(seq)
}

// run runs exec on the micro-batch, padded to seq tokens, and keeps its
// outputs.
func (m *micro) run(exec *model.Exec, obj objective, seq int, cfg Loop) error {
	var err error
	m.outs, err = exec.Exec(obj.pack(m.idx, m.w, cfg.MicroBatch, seq)...)
	return err
}

// add adds the micro-batch's outputs to st.
func (m *micro) add(obj objective, st *stats) error {
	for _, i := range m.idx {
		st.tokens += obj.tokens(i)
	}
	loss := float64(tensors.ToScalar[float32](m.outs[0]))
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return fmt.Errorf("loss is %v: training diverged; lower the learning rate or check the data (reference log-probs must be finite)", loss)
	}
	st.loss += loss
	st.n += len(m.idx)
	return obj.add(st, m.outs[1:], len(m.idx))
}

// runMicro runs exec on one micro-batch and adds its outputs to st.
func runMicro(exec *model.Exec, obj objective, idx []int, w []float64, cfg Loop, st *stats) error {
	m := micro{idx: idx, w: w}
	defer func() {
		for _, t := range m.outs {
			t.FinalizeAll()
		}
	}()
	if err := m.run(exec, obj, m.seq(obj), cfg); err != nil {
		return err
	}
	return m.add(obj, st)
}

// runEval returns the metrics of obj's whole dataset under the current
// weights.
func runEval(ctx context.Context, exec *model.Exec, obj objective, cfg Loop) (StepMetrics, error) {
	idx := make([]int, obj.size())
	for i := range idx {
		idx[i] = i
	}
	w := obj.weights(idx)
	st := &stats{}
	for start := 0; start < len(idx); start += cfg.MicroBatch {
		if err := ctx.Err(); err != nil {
			return StepMetrics{}, err
		}
		end := min(start+cfg.MicroBatch, len(idx))
		if err := runMicro(exec, obj, idx[start:end], w[start:end], cfg, st); err != nil {
			return StepMetrics{}, err
		}
	}
	return st.metrics(0), nil
}

// snapshot copies the weights to host memory.
func snapshot(params []*model.Variable) ([]*tensors.Tensor, error) {
	out := make([]*tensors.Tensor, len(params))
	for i, p := range params {
		v, err := p.Value()
		if err != nil {
			return nil, fmt.Errorf("train: reading %q: %w", p.Path(), err)
		}
		if out[i], err = v.LocalClone(); err != nil {
			return nil, fmt.Errorf("train: copying %q: %w", p.Path(), err)
		}
	}
	return out, nil
}

// restore sets the weights from a snapshot.
func restore(params []*model.Variable, snap []*tensors.Tensor) error {
	for i, p := range params {
		if err := p.SetValue(snap[i]); err != nil {
			return fmt.Errorf("train: restoring %q: %w", p.Path(), err)
		}
	}
	return nil
}
