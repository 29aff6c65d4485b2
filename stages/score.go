package stages

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/llm/openai"
)

// The score kind judges every ordered pair of a prompt's candidates.
//
//	stage "score" "train" {
//	  judge      = stage.sft.distill             # required: a model (see ModelRef) or "rouge-l"
//	  samples    = stage.sample.train            # required: folder holding samples.jsonl
//	  references = "data/train.references.jsonl" # one per prompt; leave out for reference-free templates
//	  template   = "prompts/refeval.txt"         # required for model judges; its bytes enter the ActionID
//	  mode       = "logprobs"                    # logprobs (one forward pass) | generate
//	  top_logprobs = 5                           # a label outside the judge's top 5 is missing; 0: read it anywhere
//	  batch      = 20                            # judge prompts per forward pass
//	}
//
// It writes scores.jsonl (ScoreLine lines, in prompt order). Verdicts are
// memoized per pair (judge digest, mode, template, texts). With an endpoint
// judge it also writes metrics.json (ScoreMetrics): the endpoint's token
// usage and how many verdicts were read from the answer text.

// ScoreVersion is the score kind's implementation version.
const ScoreVersion = "3"

func init() {
	Register(&engine.Kind{Name: "score", Version: ScoreVersion, Schema: scoreSchema, Decode: decodeScore, Env: backendEnv})
}

var scoreSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "judge", Required: true},
	{Name: "samples", Required: true},
	{Name: "references"},
	{Name: "template"},
	{Name: "mode"},
	{Name: "top_logprobs"},
	{Name: "max_judge_tokens"},
	{Name: "batch"},
}}

// ScoreMetrics is the score kind's metrics.json, written when the judge is
// an endpoint.
type ScoreMetrics struct {
	Prompts int    `json:"prompts"`
	Pairs   int    `json:"pairs"`
	Judge   string `json:"judge"`
	// FromText counts verdicts read from the answer text because the server
	// returned no log-probs: their p(a) is 1, 0 or 0.5, not a soft score.
	FromText int            `json:"from_text"`
	Usage    *EndpointUsage `json:"usage"`
}

type scoreStage struct {
	judge      ModelRef
	samples    string
	references string
	template   string
	mode       string
	top        int
	maxJudge   int // max_judge_tokens
	batch      int
}

// DefaultMaxJudgeTokens is the default max_judge_tokens of a local judge:
// a judge prompt is cut to its first 8000 tokens, as the paper's
// scoring.py does (max_input_len=8000).
const DefaultMaxJudgeTokens = 8000

// judgeAttrs reads the judge attributes shared by score and eval. An
// endpoint judge is sent mode (logprobs: a prefilled "Output (" turn to
// continue, which vLLM and SGLang take) and top_logprobs, which must be 1
// to openai.MaxTopLogprobs: a server cannot return the whole vocabulary.
func judgeAttrs(a *attrs, judge *ModelRef, template, mode *string, top, maxJudge *int) {
	a.model("judge", judge, true)
	a.path("template", template, "a judge template file such as \"prompts/refeval.txt\"")
	a.oneOf("mode", mode, JudgeLogprobs, JudgeGenerate)
	a.integer("top_logprobs", top, 0, 1<<20)
	if !judge.Rouge && *template == "" && (judge.Path != "" || judge.Endpoint != nil) {
		a.diags = append(a.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing template",
			Detail: "A model judge needs a template argument naming its judge template, such as \"prompts/refeval.txt\"."})
	}
	switch {
	case judge.Endpoint != nil && a.has("max_judge_tokens"):
		a.errorf(a.content.Attributes["max_judge_tokens"], "Invalid max_judge_tokens",
			"An endpoint judge tokenizes its prompts on the server, so refeval cannot cut them: remove max_judge_tokens, and bound prompts on the server (vLLM: --max-model-len).")
	case judge.Endpoint == nil && !judge.Rouge:
		*maxJudge = DefaultMaxJudgeTokens
		a.integer("max_judge_tokens", maxJudge, 1, 1<<24)
	}
	if judge.Endpoint != nil && *mode == JudgeLogprobs && !openai.TakesExtensions(judge.Endpoint.Endpoint) {
		a.errorf(a.content.Attributes["judge"], "Invalid mode",
			"The judge %s is served by an API that cannot continue an assistant turn, which the logprobs mode needs (vLLM and SGLang can): set mode = \"generate\", in which the judge writes \"Output (a)\" or \"Output (b)\" as in the paper's code.", judge)
	}
	if judge.Endpoint != nil && (*top < 1 || *top > openai.MaxTopLogprobs) && a.has("top_logprobs") {
		a.errorf(a.content.Attributes["top_logprobs"], "Invalid top_logprobs",
			"An endpoint judge returns at most %d alternatives per token (the OpenAI API's limit on top_logprobs, and vLLM's default --max-logprobs), and cannot read a label anywhere in the vocabulary: set top_logprobs between 1 and %d, or use a local judge.",
			openai.MaxTopLogprobs, openai.MaxTopLogprobs)
	}
}

func decodeScore(body hcl.Body, ectx *hcl.EvalContext) (engine.Stage, hcl.Diagnostics) {
	a := newAttrs(body, scoreSchema, ectx)
	s := &scoreStage{mode: JudgeLogprobs, top: JudgeTopLogprobs, batch: 20}
	judgeAttrs(a, &s.judge, &s.template, &s.mode, &s.top, &s.maxJudge)
	a.path("samples", &s.samples, "the output folder of a sample stage, such as stage.sample.train")
	a.path("references", &s.references, "a references file (JSON Lines of {\"text\": …})")
	a.integer("batch", &s.batch, 1, 4096)
	if s.judge.Rouge && !a.has("references") {
		a.errorf(a.content.Attributes["judge"], "Missing references",
			"The rouge-l judge compares each candidate with the prompt's reference: set references to a references file or a reference stage.")
	}
	return s, a.diags
}

func (s *scoreStage) Inputs() []string {
	in := append(s.judge.Inputs(), s.samples)
	for _, p := range []string{s.references, s.template} {
		if p != "" {
			in = append(in, p)
		}
	}
	return in
}

// readTemplate reads and parses a judge template (nil for the rouge-l
// judge). Its errors name the file.
func readTemplate(dir, path string) (*JudgeTemplate, error) {
	if path == "" {
		return nil, nil
	}
	b, err := os.ReadFile(resolve(dir, path))
	if err != nil {
		return nil, fmt.Errorf("reading the judge template: %w", err)
	}
	t, err := ParseJudgeTemplate(string(b))
	if err != nil {
		return nil, fmt.Errorf("judge template %s: %w", path, err)
	}
	return t, nil
}

func (s *scoreStage) Run(ctx context.Context, rc *engine.RunContext) error {
	samples, err := ReadJSONL[Sample](filepath.Join(resolve(rc.Dir, s.samples), SamplesFile))
	if err != nil {
		return fmt.Errorf("reading samples: %w", err)
	}
	refs := make([]string, len(samples))
	if s.references != "" {
		if refs, err = readTexts(rc.Dir, s.references, len(samples)); err != nil {
			return err
		}
	} else if s.judge.Rouge {
		return fmt.Errorf("the rouge-l judge compares against references: set the score stage's references")
	}
	tmpl, err := readTemplate(rc.Dir, s.template)
	if err != nil {
		return err
	}
	j, err := openJudge(rc, s.judge, s.mode, tmpl, s.batch, s.top, s.maxJudge)
	if err != nil {
		return err
	}
	defer j.close()
	start := time.Now()
	lines := make([]ScoreLine, len(samples))
	var pairs, hits, fromText int
	batch := s.batch
	if j.remote() {
		// All pairs at once: the client keeps max_concurrency requests in
		// flight (and memoizes each answer, so an interrupted stage resumes).
		batch = 1 << 62
		total := int64(totalPairs(samples))
		j.onDone = func(n int) { progress(rc, int64(n), total) }
	}
	for first := 0; first < len(samples); {
		// Gather whole prompts until about a batch of pairs.
		var tasks []judgeTask
		last := first
		for last < len(samples) && (last == first || len(tasks)+len(OrderedPairs(len(samples[last].Candidates))) <= batch) {
			sm := samples[last]
			for _, p := range OrderedPairs(len(sm.Candidates)) {
				tasks = append(tasks, judgeTask{Prompt: sm.Prompt, Reference: refs[last], A: sm.Candidates[p[0]].Text, B: sm.Candidates[p[1]].Text,
					Line: last + 1, I: p[0], J: p[1]})
			}
			last++
		}
		vs, h, err := j.judgeAll(ctx, rc, tasks)
		if err != nil {
			return fmt.Errorf("judging: %w", err)
		}
		hits += h
		pairs += len(tasks)
		for _, v := range vs {
			if v.FromText {
				fromText++
			}
		}
		k := 0
		for i := first; i < last; i++ {
			sm := samples[i]
			line := ScoreLine{Prompt: sm.Prompt, Reference: refs[i], Candidates: sm.Candidates, Comparisons: []Comparison{}}
			if !j.usesReference() {
				line.Reference = ""
			}
			for _, p := range OrderedPairs(len(sm.Candidates)) {
				line.Comparisons = append(line.Comparisons, NewComparison(p[0], p[1], vs[k].A, vs[k].B))
				k++
			}
			lines[i] = line
		}
		first = last
		if !j.remote() {
			progress(rc, int64(first), int64(len(samples)))
		}
	}
	if err := WriteJSONL(filepath.Join(rc.Out, ScoresFile), lines); err != nil {
		return err
	}
	el := time.Since(start)
	logf(rc, "score: %d pairs of %d prompts judged by %s (%s mode; %d from the memo; %d read from text) in %v, %.1f pairs/s\n",
		pairs, len(samples), s.judge, s.mode, hits, fromText, el.Round(time.Millisecond), float64(pairs-hits)/el.Seconds())
	j.logTruncated(rc, "score")
	if fromText > 0 {
		logf(rc, "score: %d of %d verdicts were read from the answer text: %s returned no log-probs, so their p(a) is 1, 0 or 0.5 instead of a soft score\n",
			fromText, pairs, s.judge)
	}
	u := j.usage()
	if u == nil {
		return nil // metrics.json holds what an endpoint cost
	}
	logUsage(rc, "score", u)
	return writeMetrics(rc.Out, ScoreMetrics{Prompts: len(samples), Pairs: pairs, Judge: s.judge.String(), FromText: fromText, Usage: u})
}

// totalPairs counts the ordered pairs of all prompts.
func totalPairs(samples []Sample) int {
	n := 0
	for _, sm := range samples {
		n += len(sm.Candidates) * max(0, len(sm.Candidates)-1)
	}
	return n
}

// usesReference says whether the judge saw a reference: rouge-l always,
// a template only when it has the {REFERENCE} slot.
func (j *judge) usesReference() bool {
	return j.ref.Rouge || j.tmpl.Reference
}
