package openai

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
)

// Judge labels: the judge templates end with "Output (a)" or "Output (b)".
const (
	LabelA = "a"
	LabelB = "b"
)

// answerPattern finds the label in a judge's answer, as the RefEval
// scripts do.
var answerPattern = regexp.MustCompile(`Output \((\S+)\)`)

// A Verdict is the judge's preference read from one choice of an answer.
type Verdict struct {
	LogprobA *float64 // log-prob of label a at the label position; nil when a is not among the alternatives there
	LogprobB *float64 // log-prob of label b; nil when b is not among them
	PA       float64  // soft score p(a): softmax over the two log-probs; 1 or 0 when one is missing, 0.5 when both are
	Label    string   // "a" or "b" as the answer's text names it ("Output (a)"), "" when it names neither
	FromText bool     // the answer had no log-probs: PA is 1, 0 or 0.5 from Label
	Position int      // index of the generated token whose alternatives were read; -1 when FromText
}

// JudgeLabels reads the judge's preference from choice of resp the way the
// RefEval scripts do with vLLM's log-probs:
//
//   - The label position is LabelPosition's: the generated token that is
//     exactly the label the pattern Output \((\S+)\) captures; when the
//     pattern is absent or the label is not one such token, the first
//     generated token.
//   - At that position the candidates are the generated token and its
//     top_logprobs alternatives. A candidate counts for label a when its
//     text, with surrounding white space and one leading "(" removed, is
//     exactly "a" (so "a", " a", "(a" and " (a" count, "A" and "a)" do
//     not); the same for b. When several candidates count for one label the
//     one spelled exactly "a" wins (the token the scripts look up), else the
//     most likely one.
//   - p(a) = exp(la) / (exp(la) + exp(lb)); a label missing from the list
//     gives 1/0, both missing 0.5.
//
// When the choice has no log-probs, PA comes from the answer's text (a: 1,
// b: 0, neither: 0.5) and FromText is set, so the stage can report it.
func JudgeLabels(resp *ChatResponse, choice int) (Verdict, error) {
	if resp == nil {
		return Verdict{}, errors.New("judge labels: no answer")
	}
	if choice < 0 || choice >= len(resp.Choices) {
		return Verdict{}, fmt.Errorf("judge labels: choice %d out of range; the answer has %d choices", choice, len(resp.Choices))
	}
	ch := resp.Choices[choice]
	v := Verdict{Label: textLabel(ch.Message.Content), Position: -1}
	if ch.Logprobs == nil || len(ch.Logprobs.Content) == 0 {
		v.FromText = true
		switch v.Label {
		case LabelA:
			v.PA = 1
		case LabelB:
			v.PA = 0
		default:
			v.PA = 0.5
		}
		return v, nil
	}
	toks := ch.Logprobs.Content
	texts := make([]string, len(toks))
	for i, t := range toks {
		texts[i] = t.Token
	}
	v.Position = LabelPosition(texts)
	v.LogprobA = findLabel(toks[v.Position], LabelA)
	v.LogprobB = findLabel(toks[v.Position], LabelB)
	v.PA = softA(v.LogprobA, v.LogprobB)
	return v, nil
}

// textLabel returns the label the answer's text names, or "".
func textLabel(text string) string {
	m := answerPattern.FindStringSubmatch(text)
	if m == nil || m[1] != LabelA && m[1] != LabelB {
		return ""
	}
	return m[1]
}

// LabelPosition returns the index of the generated token whose log-probs
// give the verdict, from the generated tokens' texts: the token where the
// label that the pattern Output \((\S+)\) captures starts, when that token's
// text is exactly the captured label (one token, nothing else in it), as
// the RefEval scripts require; otherwise 0, the first generated token, as
// they fall back. The endpoint judge (JudgeLabels) and the in-process
// generate mode (stages) both use it.
func LabelPosition(toks []string) int {
	var b strings.Builder
	starts := make([]int, len(toks))
	for i, t := range toks {
		starts[i] = b.Len()
		b.WriteString(t)
	}
	text := b.String()
	loc := answerPattern.FindStringSubmatchIndex(text)
	if loc == nil {
		return 0
	}
	s, e := loc[2], loc[3]
	for i, t := range toks {
		if starts[i] <= s && s < starts[i]+len(t) {
			if starts[i] == s && t == text[s:e] {
				return i
			}
			return 0
		}
	}
	return 0
}

// normLabel strips white space and one leading "(" from a token's text.
func normLabel(tok string) string {
	return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(tok), "("))
}

// findLabel returns the log-prob of label at position t, or nil.
func findLabel(t TokenLogprob, label string) *float64 {
	var best *float64
	exact := false
	consider := func(tok string, lp float64) {
		if math.IsNaN(lp) || normLabel(tok) != label {
			return
		}
		isExact := tok == label
		switch {
		case best == nil, isExact && !exact, isExact == exact && lp > *best:
			best, exact = &lp, isExact
		}
	}
	consider(t.Token, t.Logprob)
	for _, alt := range t.TopLogprobs {
		consider(alt.Token, alt.Logprob)
	}
	return best
}

// softA is p(a) from the two label log-probs.
func softA(la, lb *float64) float64 {
	switch {
	case la != nil && lb != nil:
		// exp(la)/(exp(la)+exp(lb)) without overflow; -Inf log-probs
		// (servers send -9999 or -inf for impossible tokens) stay finite.
		if math.IsInf(*la, -1) && math.IsInf(*lb, -1) {
			return 0.5
		}
		return 1 / (1 + math.Exp(*lb-*la))
	case la != nil:
		return 1
	case lb != nil:
		return 0
	}
	return 0.5
}
