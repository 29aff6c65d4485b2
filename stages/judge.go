package stages

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/llm"
	"github.com/refeval/refeval/llm/openai"
)

// Judge modes of the score and eval kinds.
const (
	// JudgeLogprobs reads the label log-probs in one forward pass over the
	// judge prompt ending in "Output (" (the default).
	JudgeLogprobs = "logprobs"
	// JudgeGenerate lets the judge answer greedily (judgeGenTokens tokens),
	// finds the label with openai.LabelPosition and reads the log-probs at
	// its position, as the RefEval scripts do with vLLM.
	JudgeGenerate = "generate"
)

// JudgeTopLogprobs is how many of the judge's most likely next tokens are
// looked at for the labels: a label outside them is missing (null), as
// with the paper's top_logprobs = 5.
const JudgeTopLogprobs = 5

const judgeGenTokens = 16

// A judgeTask is one ordered comparison: output (a) against output (b).
// Line and I, J (candidates, or 0 and 1 for eval's answer and opponent)
// name it in errors; they are not part of its memo key.
type judgeTask struct {
	Prompt, Reference, A, B string
	Line, I, J              int
}

// what names a task in errors: its prompt line and candidate pair.
func (t judgeTask) what() string {
	return fmt.Sprintf("prompt line %d, pair (%d, %d)", t.Line, t.I, t.J)
}

// A labelVerdict is the judge's log-probs of the two labels (nil: not in
// its top JudgeTopLogprobs). FromText marks an endpoint verdict read from
// the answer's text because the server gave no log-probs (memoized with
// it, so a resumed stage still counts it).
type labelVerdict struct {
	A        *float64 `json:"a"`
	B        *float64 `json:"b"`
	FromText bool     `json:"from_text,omitempty"`
}

// A judge is a judge backend with its verdicts memoized in the stage's
// memo (rouge-l's are not: they cost nothing).
type judge struct {
	judgeBackend
	judgeSettings
	ref    ModelRef
	onDone func(done int) // remote progress within one judgeAll call; nil: none
}

// openJudge opens the judge r names (nothing to load for rouge-l).
func openJudge(rc *engine.RunContext, r ModelRef, mode string, tmpl *JudgeTemplate, rows, top, maxIn int) (*judge, error) {
	s := judgeSettings{mode: mode, tmpl: tmpl, rows: rows, top: top, maxIn: maxIn}
	b, err := openJudgeBackend(rc, r, s)
	if err != nil {
		return nil, err
	}
	return &judge{judgeBackend: b, judgeSettings: s, ref: r}, nil
}

// key is the memo key of a task: the judge, its mode and template, and the
// texts it sees. v2: judge prompts rendered with the judge's chat template.
func (j *judge) key(t judgeTask) string {
	texts := struct{ Prompt, Reference, A, B string }{t.Prompt, t.Reference, t.A, t.B}
	return memoKey("refeval judge v2", j.id(), j.mode, j.top, j.maxIn, j.tmpl.Source, texts)
}

// logTruncated logs how many judge prompts were cut to max_judge_tokens,
// if any; kind starts the line.
func (j *judge) logTruncated(rc *engine.RunContext, kind string) {
	if cut := j.truncated(); cut > 0 {
		logf(rc, "%s: %d judge prompts were longer than max_judge_tokens = %d and were cut to their first %d tokens, as the paper's code does\n", kind, cut, j.maxIn, j.maxIn)
	}
}

// judgeAll judges tasks, reading and writing verdicts through rc.Memo. It
// also returns how many verdicts the memo gave.
func (j *judge) judgeAll(ctx context.Context, rc *engine.RunContext, tasks []judgeTask) ([]labelVerdict, int, error) {
	if j.ref.Rouge {
		out, err := j.judge(ctx, tasks, nil)
		return out, 0, err
	}
	out := make([]labelVerdict, len(tasks))
	keys := make([]string, len(tasks))
	var todo []int
	for i, t := range tasks {
		keys[i] = j.key(t)
		ok, err := memoGet(rc, keys[i], &out[i])
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return out, len(tasks), nil
	}
	sub := make([]judgeTask, len(todo))
	for k, i := range todo {
		sub[k] = tasks[i]
	}
	var onDone func(int)
	if done := j.onDone; done != nil {
		// Progress counts the verdicts the memo gave too.
		hits := len(tasks) - len(todo)
		onDone = func(n int) { done(hits + n) }
	}
	vs, err := j.judge(ctx, sub, onDone)
	if err != nil {
		return nil, 0, err
	}
	for k, i := range todo {
		out[i] = vs[k]
		if err := memoPut(rc, keys[i], vs[k]); err != nil {
			return nil, 0, err
		}
	}
	return out, len(tasks) - len(todo), nil
}

// A localJudge is an in-process checkpoint (package llm) as a judge.
type localJudge struct {
	judgeSettings
	local  *llm.Model
	name   string // modelID
	labelA int
	labelB int
	cut    int // judge prompts cut to maxIn
}

// openLocalJudge loads the judge model and finds its label tokens.
func openLocalJudge(rc *engine.RunContext, r ModelRef, s judgeSettings) (*localJudge, error) {
	m, err := (&deviceLoader{rc: rc, r: r, rows: s.rows}).load(0)
	if err != nil {
		return nil, err
	}
	j := &localJudge{judgeSettings: s, local: m}
	tok := m.Tokenizer()
	var okA, okB bool
	j.labelA, okA = tok.TokenID(LabelA)
	j.labelB, okB = tok.TokenID(LabelB)
	if !okA || !okB {
		m.Close()
		return nil, fmt.Errorf("judge %s: its tokenizer has no single token for the labels %q and %q", r.Path, LabelA, LabelB)
	}
	if j.name, err = modelID(rc, r, m); err != nil {
		m.Close()
		return nil, err
	}
	return j, nil
}

func (j *localJudge) id() string            { return j.name }
func (j *localJudge) remote() bool          { return false }
func (j *localJudge) usage() *EndpointUsage { return nil }
func (j *localJudge) truncated() int        { return j.cut }
func (j *localJudge) close()                { j.local.Close() }

func (j *localJudge) judge(ctx context.Context, tasks []judgeTask, _ func(int)) ([]labelVerdict, error) {
	if j.mode == JudgeGenerate {
		return j.judgeGenerate(ctx, tasks)
	}
	return j.judgeLogprobs(ctx, tasks)
}

// judgeLogprobs is the one-forward judge: the judge prompt rendered with
// the judge's chat template and generation prompt, JudgeAnswerPrefix
// appended (JudgePromptText), then the next-token distribution. The pairs of one instruction and reference share their
// common token prefix (system text, instruction, reference), computed once
// (nextTokenGrouped).
func (j *localJudge) judgeLogprobs(ctx context.Context, tasks []judgeTask) ([]labelVerdict, error) {
	tok := j.local.Tokenizer()
	prefixes := make([][]int, len(tasks))
	groups := make([]string, len(tasks))
	for i, t := range tasks {
		s, err := j.promptText(t, false)
		if err != nil {
			return nil, err
		}
		prefixes[i] = tok.Encode(s + JudgeAnswerPrefix)
		if j.maxIn > 0 && len(prefixes[i]) > j.maxIn {
			if ids := tok.Encode(s); len(ids) > j.maxIn {
				// As the paper's code: the rendered prompt's first maxIn
				// tokens, then the answer prefix.
				prefixes[i] = append(ids[:j.maxIn:j.maxIn], tok.Encode(JudgeAnswerPrefix)...)
				j.cut++
			}
		}
		groups[i] = t.Prompt + "\x00" + t.Reference
	}
	return j.verdicts(nextTokenGrouped(ctx, j.local, prefixes, groups))
}

// verdicts reads the labels from each next-token distribution of rows.
func (j *localJudge) verdicts(rows [][]float32, err error) ([]labelVerdict, error) {
	if err != nil {
		return nil, err
	}
	out := make([]labelVerdict, len(rows))
	for i, row := range rows {
		out[i] = j.labels(row)
	}
	return out, nil
}

// labels looks for the label tokens among the top j.top of a next-token
// distribution (anywhere when j.top is 0). A label whose log-prob
// underflowed to -Inf counts as missing: JSON (scores.jsonl, the memo)
// cannot hold -Inf, and LabelProb's 1/0 rule gives the same p(a).
func (j *localJudge) labels(row []float32) labelVerdict {
	var v labelVerdict
	if j.top <= 0 {
		for _, l := range []struct {
			id  int
			dst **float64
		}{{j.labelA, &v.A}, {j.labelB, &v.B}} {
			if lp := float64(row[l.id]); !math.IsInf(lp, 0) && !math.IsNaN(lp) {
				*l.dst = &lp
			}
		}
		return v
	}
	top := topK(row, j.top)
	for _, id := range top {
		lp := float64(row[id])
		switch id {
		case j.labelA:
			v.A = &lp
		case j.labelB:
			v.B = &lp
		}
	}
	return v
}

// topK returns the ids of the k largest values, largest first (lowest id
// on ties).
func topK(row []float32, k int) []int {
	idx := make([]int, 0, k+1)
	for id, v := range row {
		if len(idx) == k && v <= row[idx[k-1]] {
			continue
		}
		pos := sort.Search(len(idx), func(n int) bool { return row[idx[n]] < v })
		idx = append(idx, 0)
		copy(idx[pos+1:], idx[pos:])
		idx[pos] = id
		if len(idx) > k {
			idx = idx[:k]
		}
	}
	return idx
}

// promptText is a task's judge prompt for the local judge (JudgePromptText),
// with JudgeAnswerPrefix when prefix is set.
func (j *localJudge) promptText(t judgeTask, prefix bool) (string, error) {
	msgs, err := j.tmpl.Fill(t.Prompt, t.Reference, t.A, t.B)
	if err != nil {
		return "", fmt.Errorf("%s: %w", t.what(), err)
	}
	return JudgePromptText(j.local.Template(), msgs, prefix)
}

// judgeGenerate lets the judge answer (greedy, judgeGenTokens tokens) after
// the generation prompt, as the RefEval scripts do, and reads the top
// log-probs at the token openai.LabelPosition picks: the label of
// "Output (x)" when it is one token, else the first generated token.
func (j *localJudge) judgeGenerate(ctx context.Context, tasks []judgeTask) ([]labelVerdict, error) {
	tok := j.local.Tokenizer()
	reqs := make([]llm.GenRequest, len(tasks))
	for i, t := range tasks {
		s, err := j.promptText(t, false)
		if err != nil {
			return nil, err
		}
		ids := tok.Encode(s)
		if j.maxIn > 0 && len(ids) > j.maxIn {
			ids = ids[:j.maxIn] // as the paper's code: the first maxIn tokens
			j.cut++
		}
		reqs[i] = llm.GenRequest{Prompt: ids, Item: t.what()}
	}
	gens, err := j.local.Generate(ctx, reqs, llm.SampleParams{N: 1, MaxTokens: judgeGenTokens, Greedy: true})
	if err != nil {
		return nil, err
	}
	prefixes := make([][]int, len(tasks))
	for i, g := range gens {
		ids := g.Samples[0].Tokens
		texts := make([]string, len(ids))
		for k, id := range ids {
			texts[k] = tok.Decode([]int{id}, false)
		}
		pos := openai.LabelPosition(texts)
		prefixes[i] = append(append([]int(nil), reqs[i].Prompt...), ids[:pos]...)
	}
	return j.verdicts(j.local.NextTokenLogProbs(ctx, prefixes))
}
