package stages

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

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

// A judge compares outputs with a local model, an endpoint or ROUGE-L.
type judge struct {
	ref    ModelRef
	mode   string
	tmpl   *JudgeTemplate // nil for rouge-l
	local  *llm.Model
	client *openai.Client
	id     string
	labelA int
	labelB int
	top    int            // labels outside the top this many are missing; 0: never
	maxIn  int            // local judge prompts are cut to this many tokens; 0: never
	cut    int            // judge prompts cut to maxIn
	onDone func(done int) // endpoint progress within one judgeRemote call; nil: none
}

// openJudge loads the judge model (nothing for rouge-l).
func openJudge(rc *engine.RunContext, r ModelRef, mode string, tmpl *JudgeTemplate, rows, top, maxIn int) (*judge, error) {
	j := &judge{ref: r, mode: mode, tmpl: tmpl, top: top, maxIn: maxIn}
	var err error
	switch {
	case r.Rouge:
		j.id = RougeJudgeName
		return j, nil
	case r.Endpoint != nil:
		if j.client, err = newClient(rc, r); err != nil {
			return nil, err
		}
		j.id, _ = modelID(rc, r, nil)
		return j, nil
	}
	if j.local, err = (&deviceLoader{rc: rc, r: r, rows: rows}).load(0); err != nil {
		return nil, err
	}
	tok := j.local.Tokenizer()
	var okA, okB bool
	j.labelA, okA = tok.TokenID(LabelA)
	j.labelB, okB = tok.TokenID(LabelB)
	if !okA || !okB {
		j.local.Close()
		return nil, fmt.Errorf("judge %s: its tokenizer has no single token for the labels %q and %q", r.Path, LabelA, LabelB)
	}
	if j.id, err = modelID(rc, r, j.local); err != nil {
		j.local.Close()
		return nil, err
	}
	return j, nil
}

func (j *judge) close() {
	if j.local != nil {
		j.local.Close()
	}
}

// key is the memo key of a task: the judge, its mode and template, and the
// texts it sees. v2: judge prompts rendered with the judge's chat template.
func (j *judge) key(t judgeTask) string {
	texts := struct{ Prompt, Reference, A, B string }{t.Prompt, t.Reference, t.A, t.B}
	return memoKey("refeval judge v2", j.id, j.mode, j.top, j.maxIn, j.tmpl.Source, texts)
}

// judgeAll judges tasks, reading and writing verdicts through rc.Memo.
func (j *judge) judgeAll(ctx context.Context, rc *engine.RunContext, tasks []judgeTask) ([]labelVerdict, int, error) {
	out := make([]labelVerdict, len(tasks))
	if j.ref.Rouge {
		for i, t := range tasks {
			out[i].A, out[i].B = RougeJudge(t.Reference, t.A, t.B)
		}
		return out, 0, nil
	}
	var todo []int
	for i, t := range tasks {
		ok, err := memoGet(rc, j.key(t), &out[i])
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
	var vs []labelVerdict
	var err error
	switch {
	case j.client != nil:
		if done := j.onDone; done != nil {
			// Progress counts the verdicts the memo gave too.
			hits := len(tasks) - len(todo)
			j.onDone = func(n int) { done(hits + n) }
			defer func() { j.onDone = done }()
		}
		vs, err = j.judgeRemote(ctx, sub)
	case j.mode == JudgeGenerate:
		vs, err = j.judgeGenerate(ctx, sub)
	default:
		vs, err = j.judgeLogprobs(ctx, sub)
	}
	if err != nil {
		return nil, 0, err
	}
	for k, i := range todo {
		out[i] = vs[k]
		if err := memoPut(rc, j.key(tasks[i]), vs[k]); err != nil {
			return nil, 0, err
		}
	}
	return out, len(tasks) - len(todo), nil
}

// judgeLogprobs is the one-forward judge: the judge prompt rendered with
// the judge's chat template and generation prompt, JudgeAnswerPrefix
// appended (JudgePromptText), then the next-token distribution. The pairs of one instruction and reference share their
// common token prefix (system text, instruction, reference), computed once
// (nextTokenGrouped).
func (j *judge) judgeLogprobs(ctx context.Context, tasks []judgeTask) ([]labelVerdict, error) {
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
	rows, err := nextTokenGrouped(ctx, j.local, prefixes, groups)
	if err != nil {
		return nil, err
	}
	out := make([]labelVerdict, len(tasks))
	for i, row := range rows {
		out[i] = j.labels(row)
	}
	return out, nil
}

// labels looks for the label tokens among the top j.top of a next-token
// distribution (anywhere when j.top is 0). A label whose log-prob
// underflowed to -Inf counts as missing: JSON (scores.jsonl, the memo)
// cannot hold -Inf, and LabelProb's 1/0 rule gives the same p(a).
func (j *judge) labels(row []float32) labelVerdict {
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
func (j *judge) promptText(t judgeTask, prefix bool) (string, error) {
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
func (j *judge) judgeGenerate(ctx context.Context, tasks []judgeTask) ([]labelVerdict, error) {
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
	rows, err := j.local.NextTokenLogProbs(ctx, prefixes)
	if err != nil {
		return nil, err
	}
	out := make([]labelVerdict, len(tasks))
	for i, row := range rows {
		out[i] = j.labels(row)
	}
	return out, nil
}

// judgeRemote asks an endpoint for each task's verdict through ChatAll:
// the judge template's messages, slots filled, in an openai.JudgeRequest
// with j.top alternatives, prefilled with "Output (" in the logprobs mode
// (the server renders them with its chat template); openai.JudgeLabels
// reads the labels.
func (j *judge) judgeRemote(ctx context.Context, tasks []judgeTask) ([]labelVerdict, error) {
	items := make([]string, len(tasks))
	reqs := make([]openai.ChatRequest, len(tasks))
	for i, t := range tasks {
		msgs, err := j.tmpl.Fill(t.Prompt, t.Reference, t.A, t.B)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.what(), err)
		}
		items[i] = t.what()
		reqs[i] = openai.JudgeRequest(openaiMessages(msgs), j.mode == JudgeLogprobs, j.top)
	}
	resps, err := j.client.ChatAll(ctx, items, reqs, j.onDone)
	if err != nil {
		if j.mode == JudgeLogprobs && errors.Is(err, openai.ErrRejected) {
			err = fmt.Errorf("%w (the logprobs mode asks the server to continue an assistant turn \"Output (\", which vLLM and SGLang accept; for other servers set mode = \"generate\")", err)
		}
		return nil, err
	}
	out := make([]labelVerdict, len(tasks))
	for i, resp := range resps {
		if j.mode == JudgeLogprobs && len(resp.Choices) > 0 {
			// The answer continues the prefilled "Output (" by one token:
			// read the text whole, closed, so that "a" is "Output (a)".
			c := *resp
			c.Choices = slices.Clone(resp.Choices)
			text := openai.JudgePrefill + c.Choices[0].Message.Content
			if !strings.Contains(text, ")") {
				text += ")"
			}
			c.Choices[0].Message.Content = text
			resp = &c
		}
		v, err := openai.JudgeLabels(resp, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", items[i], err)
		}
		if v.FromText {
			out[i].FromText = true
			// p(a) from the text: a → 1, b → 0, else 0.5, as label log-probs.
			z := 0.0
			switch v.PA {
			case 1:
				out[i].A = &z
			case 0:
				out[i].B = &z
			default:
				out[i].A, out[i].B = &z, &z
			}
			continue
		}
		out[i] = labelVerdict{A: v.LogprobA, B: v.LogprobB}
	}
	return out, nil
}
