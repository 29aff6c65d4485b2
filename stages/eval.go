package stages

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/refeval/refeval/engine"
)

// The eval kind measures a policy on held-out prompts: its win rate
// against the references (and against a baseline policy's answers) under a
// judge, both orders, with a Wilson 95% interval (ComputeWinRate), and its
// mean ROUGE-L against the references.
//
//	stage "eval" "dpo" {
//	  policy      = stage.dpo.beta["0.01"]          # required
//	  baseline    = stage.sft.distill               # optional: a second policy to compare with
//	  prompts     = "data/test.prompts.jsonl"       # required
//	  references  = "data/test.references.jsonl"    # required
//	  judge       = "rouge-l"                       # a model (see ModelRef) or "rouge-l" (default)
//	  template    = "prompts/refeval.txt"           # required for model judges
//	  mode        = "logprobs"                      # logprobs | generate
//	  top_logprobs = 5                              # as in the score kind
//	  temperature = 0                               # 0: greedy answers
//	  top_p       = 1
//	  max_tokens  = 512
//	  seed        = 0
//	  limit       = 0                               # first N prompts only
//	  batch       = 8
//	}
//
// It writes answers.jsonl (EvalAnswer lines) and metrics.json (EvalMetrics;
// with endpoint models, their token usage).

// EvalVersion is the eval kind's implementation version.
const EvalVersion = "3"

// AnswersFile is the eval kind's per-prompt answers.
const AnswersFile = "answers.jsonl"

func init() {
	// NonDeterministic: metrics.json holds the run's seconds, so a rerun of
	// the same action never gives the same bytes.
	Register(&engine.Kind{Name: "eval", Version: EvalVersion, Schema: evalSchema, Decode: decodeEval, Env: backendEnv, NonDeterministic: true})
}

var evalSchema = genSchema(
	hcl.AttributeSchema{Name: "policy", Required: true},
	hcl.AttributeSchema{Name: "baseline"},
	hcl.AttributeSchema{Name: "references", Required: true},
	hcl.AttributeSchema{Name: "judge"},
	hcl.AttributeSchema{Name: "template"},
	hcl.AttributeSchema{Name: "mode"},
	hcl.AttributeSchema{Name: "top_logprobs"},
	hcl.AttributeSchema{Name: "max_judge_tokens"},
)

type evalStage struct {
	policy, baseline ModelRef
	prompts          string
	references       string
	judge            ModelRef
	template, mode   string
	top              int
	maxJudge         int // max_judge_tokens
	gen              genSettings
	limit, batch     int
}

// EvalAnswer is one line of answers.jsonl.
type EvalAnswer struct {
	Prompt    string  `json:"prompt"`
	Reference string  `json:"reference"`
	Answer    string  `json:"answer"`
	RougeL    float64 `json:"rouge_l"`
	VsRef     Match   `json:"vs_reference"`
	Baseline  *string `json:"baseline,omitempty"`
	VsBase    *Match  `json:"vs_baseline,omitempty"`
}

// EvalMetrics is the eval kind's metrics.json.
type EvalMetrics struct {
	Prompts int    `json:"prompts"`
	Judge   string `json:"judge"`
	// WinRate and RougeL repeat VsReference.Rate and the mean ROUGE-L at the
	// top level, for sweep tables.
	WinRate        float64  `json:"win_rate"`
	RougeL         float64  `json:"rouge_l"`
	VsReference    WinRate  `json:"vs_reference"`
	VsBaseline     *WinRate `json:"vs_baseline,omitempty"`
	BaselineRougeL *float64 `json:"baseline_rouge_l,omitempty"`
	Seconds        float64  `json:"seconds"`
	// FromText counts an endpoint judge's verdicts read from the answer
	// text (the server gave no log-probs).
	FromText int `json:"from_text,omitempty"`
	// Usage sums the endpoint models' token usage; absent without one.
	Usage *EndpointUsage `json:"usage,omitempty"`
}

func decodeEval(body hcl.Body, ectx *hcl.EvalContext) (engine.Stage, hcl.Diagnostics) {
	a := newAttrs(body, evalSchema, ectx)
	s := &evalStage{judge: ModelRef{Rouge: true}, mode: JudgeLogprobs, top: JudgeTopLogprobs, gen: genSettings{N: 1, TopP: 1, MaxTokens: DefaultMaxTokens}, batch: 8}
	a.model("policy", &s.policy, false)
	a.model("baseline", &s.baseline, false)
	a.path("references", &s.references, "a references file (JSON Lines of {\"text\": …})")
	judgeAttrs(a, &s.judge, &s.template, &s.mode, &s.top, &s.maxJudge)
	decodeGen(a, &s.prompts, &s.gen, &s.limit, &s.batch, s.policy, s.baseline)
	return s, a.diags
}

func (s *evalStage) Inputs() []string {
	in := append(s.policy.Inputs(), s.baseline.Inputs()...)
	in = append(in, s.judge.Inputs()...)
	in = append(in, s.prompts, s.references)
	if s.template != "" {
		in = append(in, s.template)
	}
	return in
}

// answers generates one answer per prompt with r. It also returns what
// r cost (nil: nothing countable).
func (s *evalStage) answers(ctx context.Context, rc *engine.RunContext, r ModelRef, prompts []string) ([]string, *EndpointUsage, error) {
	texts, _, u, err := generateAll(ctx, rc, r, "eval", prompts, s.gen, s.batch, s.batch)
	if err != nil {
		return nil, nil, err
	}
	out := make([]string, len(prompts))
	for i := range texts {
		out[i] = texts[i][0]
	}
	return out, u, nil
}

// matches judges answers against opponents in both orders. It also returns
// how many verdicts were read from an endpoint's answer text.
func matches(ctx context.Context, rc *engine.RunContext, j *judge, prompts, refs, answers, opponents []string) ([]Match, int, error) {
	tasks := make([]judgeTask, 0, 2*len(prompts))
	for i, p := range prompts {
		tasks = append(tasks,
			judgeTask{Prompt: p, Reference: refs[i], A: answers[i], B: opponents[i], Line: i + 1, I: 0, J: 1},
			judgeTask{Prompt: p, Reference: refs[i], A: opponents[i], B: answers[i], Line: i + 1, I: 1, J: 0})
	}
	vs, _, err := j.judgeAll(ctx, rc, tasks)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Match, len(prompts))
	for i := range prompts {
		out[i] = Match{PolicyFirst: LabelProb(vs[2*i].A, vs[2*i].B), PolicySecond: LabelProb(vs[2*i+1].A, vs[2*i+1].B)}
	}
	fromText := 0
	for _, v := range vs {
		if v.FromText {
			fromText++
		}
	}
	return out, fromText, nil
}

func (s *evalStage) Run(ctx context.Context, rc *engine.RunContext) error {
	start := time.Now()
	prompts, err := readPrompts(rc.Dir, s.prompts, s.limit)
	if err != nil {
		return err
	}
	refs, err := readTexts(rc.Dir, s.references, len(prompts))
	if err != nil {
		return err
	}
	tmpl, err := readTemplate(rc.Dir, s.template)
	if err != nil {
		return err
	}
	answers, policyUsage, err := s.answers(ctx, rc, s.policy, prompts)
	if err != nil {
		return fmt.Errorf("policy answers: %w", err)
	}
	var base []string
	var baselineUsage *EndpointUsage
	if s.baseline != (ModelRef{}) {
		if base, baselineUsage, err = s.answers(ctx, rc, s.baseline, prompts); err != nil {
			return fmt.Errorf("baseline answers: %w", err)
		}
	}
	j, err := openJudge(rc, s.judge, s.mode, tmpl, s.batch, s.top, s.maxJudge)
	if err != nil {
		return err
	}
	defer j.close()
	vsRef, fromText, err := matches(ctx, rc, j, prompts, refs, answers, refs)
	if err != nil {
		return fmt.Errorf("judging against the references: %w", err)
	}
	m := EvalMetrics{Prompts: len(prompts), Judge: s.judge.String(), FromText: fromText}
	if m.VsReference, err = ComputeWinRate(vsRef); err != nil {
		return err
	}
	m.WinRate = m.VsReference.Rate
	lines := make([]EvalAnswer, len(prompts))
	for i := range prompts {
		lines[i] = EvalAnswer{Prompt: prompts[i], Reference: refs[i], Answer: answers[i], RougeL: RougeL(answers[i], refs[i]), VsRef: vsRef[i]}
		m.RougeL += lines[i].RougeL / float64(len(prompts))
	}
	if base != nil {
		vsBase, ft, err := matches(ctx, rc, j, prompts, refs, answers, base)
		if err != nil {
			return fmt.Errorf("judging against the baseline: %w", err)
		}
		m.FromText += ft
		w, err := ComputeWinRate(vsBase)
		if err != nil {
			return err
		}
		m.VsBaseline = &w
		br := 0.0
		for i := range prompts {
			lines[i].Baseline, lines[i].VsBase = &base[i], &vsBase[i]
			br += RougeL(base[i], refs[i]) / float64(len(prompts))
		}
		m.BaselineRougeL = &br
	}
	m.Seconds = time.Since(start).Seconds()
	if err := WriteJSONL(filepath.Join(rc.Out, AnswersFile), lines); err != nil {
		return err
	}
	msg := fmt.Sprintf("eval: %d prompts, judge %s: win rate vs references %.3f [%.3f, %.3f], ROUGE-L %.3f", len(prompts), m.Judge, m.WinRate, m.VsReference.Low, m.VsReference.High, m.RougeL)
	if m.VsBaseline != nil {
		msg += fmt.Sprintf("; vs baseline %.3f [%.3f, %.3f] (baseline ROUGE-L %.3f)", m.VsBaseline.Rate, m.VsBaseline.Low, m.VsBaseline.High, *m.BaselineRougeL)
	}
	logf(rc, "%s\n", msg)
	j.logTruncated(rc, "eval")
	if m.FromText > 0 {
		logf(rc, "eval: %d verdicts were read from the answer text: %s returned no log-probs, so their p(a) is 1, 0 or 0.5 instead of a soft score\n", m.FromText, s.judge)
	}
	m.Usage = sumUsage(policyUsage, baselineUsage, j.usage())
	logUsage(rc, "eval", m.Usage)
	return writeMetrics(rc.Out, m)
}
