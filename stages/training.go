package stages

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/hashicorp/hcl/v2"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/internal/atomicfile"
	"github.com/refeval/refeval/llm/backend"
	"github.com/refeval/refeval/llm/checkpoint"
	"github.com/refeval/refeval/llm/train"
	"github.com/refeval/refeval/llm/transformer"
)

// Files the sft and dpo kinds write besides the checkpoint.
const (
	MetricsLinesFile = "metrics.jsonl" // one StepLine per optimizer step
	LossPlotFile     = "loss.svg"      // loss (and DPO margin) against step
)

// DefaultSeqLen is the default max_len of the logprobs, dpo and sft kinds:
// prompt + response are truncated to 2048 tokens, RLRR's max_len
// (dpo.py base_setting, mle.py base_setting, data_utils.py datasets).
const DefaultSeqLen = 2048

// trainSettings are the training attributes shared by sft and dpo: the
// loop's own settings (train.Loop, handed to train.DPO and train.SFT as
// they are) and what the stage itself uses.
type trainSettings struct {
	train.Loop
	EvalFraction float64 // held-out share of the examples
	MaxLen       int     // prompt + response truncated to this many tokens
	Limit        int     // first N examples only; 0: all
}

// A trainAttr is one row of the training attributes: the attribute, the
// field it sets, its range (numbers) or choices (strings), and its default
// in the dpo and sft kinds (RLRR's dpo.py and mle.py; the table in
// docs/stages-models.md gives file and line of each). trainAttrs builds
// both kinds' schema (trainSchema), their decoding (decodeTrain) and their
// defaults (trainDefaults).
//
//	lr             peak learning rate
//	weight_decay   AdamW's decoupled decay, on every parameter (torch's default 0.01)
//	schedule       cosine | linear | constant
//	warmup_ratio   warmup steps = int(ratio × steps); 0: none
//	batch          examples (dpo: pairs) per forward pass
//	grad_accum     micro-batches per step; global batch = batch × grad_accum
//	replicas       data-parallel replicas splitting the global batch; 0: one per granted
//	               device, with none min(CPUReplicas, grad_accum)
//	epochs         passes over the training set
//	max_grad_norm  clip the global gradient norm; 0: no clipping
//	eval_fraction  held-out share of the examples; the best checkpoint by its loss is kept
//	eval_every     steps between held-out evaluations (and after the last)
//	max_len        prompt + response truncated to this many tokens
//	limit          first N examples only; 0: all
//	seed           data order and held-out split
type trainAttr struct {
	name     string
	lo, hi   float64                    // range of a number
	choices  []string                   // choices of a string
	field    func(t *trainSettings) any // *float64, *int, *uint64 or *string
	defaults func(t *trainSettings, dpo bool)
}

// trainValue is what a training attribute holds.
type trainValue interface {
	float64 | int | uint64 | string
}

// attr is the row of a training attribute: field picks it in
// trainSettings, and the dpo and sft defaults have the field's type, so a
// default of another type does not compile.
func attr[T trainValue](name string, field func(t *trainSettings) *T, dpo, sft T) trainAttr {
	return trainAttr{
		name:  name,
		field: func(t *trainSettings) any { return field(t) },
		defaults: func(t *trainSettings, isDPO bool) {
			*field(t) = sft
			if isDPO {
				*field(t) = dpo
			}
		},
	}
}

// in sets a number's range.
func (r trainAttr) in(lo, hi float64) trainAttr { r.lo, r.hi = lo, hi; return r }

// oneOf sets a string's choices.
func (r trainAttr) oneOf(choices ...string) trainAttr { r.choices = choices; return r }

var trainAttrs = []trainAttr{
	attr("lr", func(t *trainSettings) *float64 { return &t.LR }, 5e-7, 2e-5).in(1e-12, 10),
	attr("weight_decay", func(t *trainSettings) *float64 { return &t.WeightDecay }, 0.01, 0.01).in(0, 10),
	attr("schedule", func(t *trainSettings) *string { return &t.Schedule }, train.ScheduleCosine, train.ScheduleLinear).
		oneOf(train.ScheduleCosine, train.ScheduleLinear, train.ScheduleConstant),
	attr("warmup_ratio", func(t *trainSettings) *float64 { return &t.WarmupRatio }, 0.1, 0.03).in(0, 1),
	attr("batch", func(t *trainSettings) *int { return &t.MicroBatch }, 8, 2).in(1, 1<<16),
	attr("grad_accum", func(t *trainSettings) *int { return &t.GradAccum }, 8, 16).in(1, 1<<16),
	attr("replicas", func(t *trainSettings) *int { return &t.Replicas }, 0, 0).in(0, 1024),
	attr("epochs", func(t *trainSettings) *int { return &t.Epochs }, 1, 2).in(1, 1<<16),
	attr("max_grad_norm", func(t *trainSettings) *float64 { return &t.MaxGradNorm }, 0, 0).in(0, 1e9),
	attr("eval_fraction", func(t *trainSettings) *float64 { return &t.EvalFraction }, 0, 0).in(0, 0.9),
	attr("eval_every", func(t *trainSettings) *int { return &t.EvalEvery }, 400, 1000).in(0, 1<<30),
	attr("max_len", func(t *trainSettings) *int { return &t.MaxLen }, DefaultSeqLen, DefaultSeqLen).in(0, 1<<30),
	attr("limit", func(t *trainSettings) *int { return &t.Limit }, 0, 0).in(0, 1<<30),
	attr("seed", func(t *trainSettings) *uint64 { return &t.Seed }, 0, 0).in(0, 1<<53),
}

// trainSchema is a kind's own attributes followed by trainAttrs.
func trainSchema(own ...hcl.AttributeSchema) *hcl.BodySchema {
	s := &hcl.BodySchema{Attributes: own}
	for _, r := range trainAttrs {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: r.name})
	}
	return s
}

// trainDefaults are the dpo kind's (dpo true) or the sft kind's defaults.
func trainDefaults(dpo bool) trainSettings {
	var t trainSettings
	for _, r := range trainAttrs {
		r.defaults(&t, dpo)
	}
	return t
}

// decodeTrain reads the training attributes over t's defaults.
func decodeTrain(a *attrs, t *trainSettings) {
	for _, r := range trainAttrs {
		switch p := r.field(t).(type) {
		case *float64:
			a.number(r.name, p, r.lo, r.hi)
		case *int:
			a.integer(r.name, p, int(r.lo), int(r.hi))
		case *uint64:
			n := int(*p)
			a.integer(r.name, &n, int(r.lo), int(r.hi))
			*p = uint64(n)
		case *string:
			a.oneOf(r.name, p, r.choices...)
		}
	}
}

// CPUReplicas is the replicas a stage granted no device trains with when
// it does not set them (capped by grad_accum). Replicas run concurrently,
// and the pure-Go backend runs all but matrix products on the calling
// goroutine, so two replicas keep two cores busy. It is a constant, not the
// host's core count: replicas change the order gradients are summed in, and
// a stage's result must not depend on the machine that built it.
const CPUReplicas = 2

// replicas returns the data-parallel replicas: the attribute, or one per
// granted device, or with none min(CPUReplicas, grad_accum). They split
// the global batch (batch × grad_accum); they never enlarge it.
func (t trainSettings) replicas(rc *engine.RunContext) int {
	if t.Replicas > 0 {
		return t.Replicas
	}
	if len(rc.Devices) > 0 {
		return len(rc.Devices)
	}
	return max(1, min(CPUReplicas, t.GradAccum))
}

// heldOut splits n items into training and held-out indices: a seeded
// permutation, the first ceil(fraction·n) held out (at least one when the
// fraction is positive and n ≥ 2; none otherwise).
func heldOut(n int, fraction float64, seed uint64) (trainIdx, evalIdx []int) {
	perm := rand.New(rand.NewPCG(seed, 0x5eed)).Perm(n)
	k := int(math.Ceil(fraction * float64(n)))
	if fraction > 0 && k < 1 && n >= 2 {
		k = 1
	}
	if k >= n {
		k = n - 1
	}
	k = max(k, 0)
	evalIdx, trainIdx = append([]int(nil), perm[:k]...), append([]int(nil), perm[k:]...)
	sort.Ints(evalIdx)
	sort.Ints(trainIdx)
	return trainIdx, evalIdx
}

// split deals all into training and held-out sets by heldOut.
func split[T any](all []T, fraction float64, seed uint64) (trainSet, evalSet []T) {
	ti, ei := heldOut(len(all), fraction, seed)
	for _, i := range ti {
		trainSet = append(trainSet, all[i])
	}
	for _, i := range ei {
		evalSet = append(evalSet, all[i])
	}
	return trainSet, evalSet
}

// trainee is a checkpoint loaded as trainable variables.
type trainee struct {
	dir   string
	ck    *checkpoint.Checkpoint
	store *model.Store
	model *train.Model
}

func loadTrainee(rc *engine.RunContext, r ModelRef) (*trainee, error) {
	if !r.IsLocal() {
		return nil, fmt.Errorf("training needs a local checkpoint, not %s", r)
	}
	dir := resolve(rc.Dir, r.Path)
	ck, err := checkpoint.Load(dir)
	if err != nil {
		return nil, err
	}
	b, err := backend.New("")
	if err != nil {
		return nil, err
	}
	store := model.NewStore()
	if err := transformer.LoadIntoStore(store, ck.Tensors); err != nil {
		b.Finalize()
		return nil, err
	}
	return &trainee{dir: dir, ck: ck, store: store, model: train.TransformerModel(b, store, ck.Config)}, nil
}

func (t *trainee) close() {
	t.store.Finalize()
	t.model.Backend.Finalize()
}

// fit trains t's model with the loop of ts and the replicas rc grants,
// through run (train.DPO or train.SFT over nTrain training and nEval
// held-out examples, given the loop and the step callback), then writes
// the checkpoint, metrics.jsonl and loss.svg into rc.Out. It returns the
// result and metrics.json with its size, speed and held-out fields; the
// kind adds its own and writes it.
func (t *trainee) fit(rc *engine.RunContext, ts trainSettings, dpo bool, nTrain, nEval int,
	run func(loop train.Loop, onStep func(train.StepMetrics)) (*train.Result, error)) (*train.Result, TrainMetrics, error) {
	loop := ts.Loop
	loop.Replicas = ts.replicas(rc)
	rec := &recorder{rc: rc, dpo: dpo, total: steps(nTrain, ts)}
	start := time.Now()
	res, err := run(loop, rec.onStep)
	if err != nil {
		return nil, TrainMetrics{}, err
	}
	el := time.Since(start).Seconds()
	if err := t.save(rc.Out); err != nil {
		return nil, TrainMetrics{}, err
	}
	if err := rec.write(rc.Out, res.Evals); err != nil {
		return nil, TrainMetrics{}, err
	}
	m := rec.metrics(nTrain, nEval, ts.Epochs, el)
	m.fill(res, dpo)
	return res, m, nil
}

// save writes the trained weights and the tokenizer files as a checkpoint.
func (t *trainee) save(out string) error {
	ts, err := transformer.StoreTensors(t.store, t.ck.Config)
	if err != nil {
		return err
	}
	return checkpoint.Save(out, t.ck.Config, ts, checkpoint.SaveOptions{TokenizerDir: t.dir})
}

// A StepLine is one line of metrics.jsonl.
type StepLine struct {
	Step           int       `json:"step"`
	Epoch          float64   `json:"epoch"`
	Loss           float64   `json:"loss"`
	Accuracy       *float64  `json:"accuracy,omitempty"`
	RewardChosen   *float64  `json:"reward_chosen,omitempty"`
	RewardRejected *float64  `json:"reward_rejected,omitempty"`
	Margin         *float64  `json:"margin,omitempty"`
	LogRatio       *float64  `json:"log_ratio,omitempty"`
	LR             float64   `json:"lr"`
	GradNorm       float64   `json:"grad_norm"`
	Tokens         int       `json:"tokens"`
	TokensPerSec   float64   `json:"tokens_per_sec"`
	Eval           *StepLine `json:"eval,omitempty"`
}

func stepLine(m train.StepMetrics, dpo bool) StepLine {
	l := StepLine{Step: m.Step, Epoch: m.Epoch, Loss: m.Loss, LR: m.LR, GradNorm: m.GradNorm, Tokens: m.Tokens, TokensPerSec: m.TokensPerSec}
	if dpo {
		f := func(v float64) *float64 { return &v }
		l.Accuracy, l.RewardChosen, l.RewardRejected, l.Margin, l.LogRatio = f(m.Accuracy), f(m.RewardChosen), f(m.RewardRejected), f(m.Margin), f(m.LogRatio)
	}
	if m.Eval != nil {
		e := stepLine(*m.Eval, dpo)
		e.LR, e.GradNorm, e.TokensPerSec = 0, 0, 0
		l.Eval = &e
	}
	return l
}

// recorder collects step lines and logs a line now and then.
type recorder struct {
	rc    *engine.RunContext
	dpo   bool
	total int
	lines []StepLine
}

func (r *recorder) onStep(m train.StepMetrics) {
	l := stepLine(m, r.dpo)
	r.lines = append(r.lines, l)
	progress(r.rc, int64(m.Step), int64(r.total))
	if m.Step == 1 || m.Step%10 == 0 || m.Step == r.total || m.Eval != nil {
		extra := ""
		if r.dpo {
			extra = fmt.Sprintf(" acc %.3f margin %.4f", m.Accuracy, m.Margin)
		}
		if m.Eval != nil {
			extra += fmt.Sprintf(" | eval loss %.4f", m.Eval.Loss)
			if r.dpo {
				extra += fmt.Sprintf(" acc %.3f margin %.4f", m.Eval.Accuracy, m.Eval.Margin)
			}
		}
		logf(r.rc, "step %d/%d loss %.4f%s lr %.3g %.0f tok/s\n", m.Step, r.total, m.Loss, extra, m.LR, m.TokensPerSec)
	}
}

// metrics returns metrics.json's size and speed fields for a run over
// examples training examples that took seconds; fill adds the rest.
func (r *recorder) metrics(examples, evalExamples, epochs int, seconds float64) TrainMetrics {
	tokens := 0
	for _, l := range r.lines {
		tokens += l.Tokens
	}
	return TrainMetrics{Examples: examples, EvalExamples: evalExamples, Seconds: seconds,
		TokensPerSec: float64(tokens) / seconds, ExamplesPerSec: float64(examples*max(1, epochs)) / seconds}
}

// write writes metrics.jsonl and the plot.
func (r *recorder) write(out string, evals []train.StepMetrics) error {
	if err := WriteJSONL(filepath.Join(out, MetricsLinesFile), r.lines); err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(out, LossPlotFile), []byte(lossPlot(r.lines, evals, r.dpo)))
}

// steps returns the optimizer steps of a run over n examples: the global
// batch is batch × grad_accum, whatever the replicas.
func steps(n int, t trainSettings) int {
	global := max(1, t.MicroBatch) * max(1, t.GradAccum)
	return max(1, t.Epochs) * ((n + global - 1) / global)
}

// lossPlot draws training loss (and, for DPO, the margin) against step as
// an SVG, with held-out evaluations as dots.
func lossPlot(lines []StepLine, evals []train.StepMetrics, dpo bool) string {
	const w, h, pad = 640.0, 220.0, 40.0
	var b strings.Builder
	panels := 1
	if dpo {
		panels = 2
	}
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="11">`+"\n", w, h*float64(panels))
	panel := func(idx int, title string, train func(StepLine) float64, eval func(train.StepMetrics) float64) {
		y0 := h * float64(idx)
		var xs, ys []float64
		for _, l := range lines {
			xs, ys = append(xs, float64(l.Step)), append(ys, train(l))
		}
		var exs, eys []float64
		for _, e := range evals {
			exs, eys = append(exs, float64(e.Step)), append(eys, eval(e))
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range append(append([]float64(nil), ys...), eys...) {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
		if lo > hi {
			lo, hi = 0, 1
		}
		if hi-lo < 1e-12 {
			lo, hi = lo-0.5, hi+0.5
		}
		maxX := 1.0
		for _, x := range append(append([]float64(nil), xs...), exs...) {
			maxX = math.Max(maxX, x)
		}
		px := func(x float64) float64 { return pad + (w-2*pad)*x/maxX }
		py := func(v float64) float64 { return y0 + h - pad + (v-lo)/(hi-lo)*(2*pad-h) }
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">%s (line: training, dots: held-out)</text>`+"\n", pad, y0+16, title)
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#999"/>`+"\n", pad, y0+pad, w-2*pad, h-2*pad)
		fmt.Fprintf(&b, `<text x="2" y="%.1f">%.3g</text><text x="2" y="%.1f">%.3g</text>`+"\n", py(hi)+4, hi, py(lo)+4, lo)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">step %.0f</text>`+"\n", w-pad, y0+h-pad+14, maxX)
		if len(xs) > 0 {
			b.WriteString(`<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="`)
			for i := range xs {
				fmt.Fprintf(&b, "%.1f,%.1f ", px(xs[i]), py(ys[i]))
			}
			b.WriteString(`"/>` + "\n")
		}
		for i := range exs {
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="#d62728"/>`+"\n", px(exs[i]), py(eys[i]))
		}
	}
	panel(0, "loss", func(l StepLine) float64 { return l.Loss }, func(m train.StepMetrics) float64 { return m.Loss })
	if dpo {
		panel(1, "margin (reward chosen − rejected)", func(l StepLine) float64 {
			if l.Margin == nil {
				return math.NaN()
			}
			return *l.Margin
		}, func(m train.StepMetrics) float64 { return m.Margin })
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// writeMetrics writes metrics.json.
func writeMetrics(out string, v any) error {
	return WriteJSON(filepath.Join(out, MetricsFile), v)
}

// finite replaces NaN and infinities (which JSON cannot hold) by nil.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
