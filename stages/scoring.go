package stages

import (
	"fmt"
	"math"
	"regexp"
	"strings"

	"github.com/refeval/refeval/llm/openai"
)

// Judge templates and the score math of the RefEval method: how a judge
// prompt is filled in, how the judge's label log-probs become p(a), how the
// verdicts on ordered pairs become candidate scores, and which candidates
// become the chosen and rejected answers.

// Template slots. A judge template must hold SlotInstruction, SlotOutput1 and
// SlotOutput2; SlotReference is for reference-guided templates.
const (
	SlotInstruction = "INSTRUCTION"
	SlotOutput1     = "OUTPUT_1"
	SlotOutput2     = "OUTPUT_2"
	SlotReference   = "REFERENCE"
)

// JudgeAnswerPrefix is what the logprobs mode appends to a judge prompt
// rendered with the generation prompt (JudgePromptText): it starts the
// answer, so that the judge's next token is the label "a" or "b". Endpoint
// judges send it as a final assistant turn to continue
// (openai.JudgePrefill).
const JudgeAnswerPrefix = openai.JudgePrefill

// The labels whose log-probs the judge is asked for, at the position right
// after JudgeAnswerPrefix.
const (
	LabelA = "a"
	LabelB = "b"
)

// slotPattern matches a slot: an upper-case name in braces. Braces around
// anything else (JSON in an instruction, say) are left alone.
var slotPattern = regexp.MustCompile(`\{[A-Z][A-Z0-9_]*\}`)

// RenderJudge fills the slots of a judge template. The template must hold
// {INSTRUCTION}, {OUTPUT_1} and {OUTPUT_2}; it may hold {REFERENCE}, and
// then reference must not be empty. Any other {UPPER_CASE} slot is an error.
// Slots are replaced in one pass, so slot names inside the filled-in texts
// stay as they are.
func RenderJudge(tmpl string, instruction, reference, out1, out2 string) (string, error) {
	values := map[string]string{
		SlotInstruction: instruction,
		SlotOutput1:     out1,
		SlotOutput2:     out2,
		SlotReference:   reference,
	}
	seen := map[string]bool{}
	var unknown []string
	for _, m := range slotPattern.FindAllString(tmpl, -1) {
		name := m[1 : len(m)-1]
		if _, ok := values[name]; !ok {
			unknown = append(unknown, m)
			continue
		}
		seen[name] = true
	}
	if len(unknown) > 0 {
		return "", fmt.Errorf("judge template has unknown slot %s; the slots are {%s}, {%s}, {%s} and {%s}",
			strings.Join(unknown, ", "), SlotInstruction, SlotOutput1, SlotOutput2, SlotReference)
	}
	var missing []string
	for _, name := range []string{SlotInstruction, SlotOutput1, SlotOutput2} {
		if !seen[name] {
			missing = append(missing, "{"+name+"}")
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("judge template lacks slot %s; every judge template must show the instruction and both outputs",
			strings.Join(missing, ", "))
	}
	if seen[SlotReference] && reference == "" {
		return "", fmt.Errorf("judge template has a {%s} slot but no reference was given; pass references to the stage or use a reference-free template such as prompts/base.txt", SlotReference)
	}
	return slotPattern.ReplaceAllStringFunc(tmpl, func(m string) string {
		return values[m[1:len(m)-1]]
	}), nil
}

// LabelProb returns p(a), the judge's probability that output (a) is better:
// the softmax of the log-probs of the labels "a" and "b". A nil log-prob
// means the label was not among the judge's top log-probs: if only "b" is
// missing p(a) is 1, if only "a" is missing it is 0, and if both are it is
// 0.5, as in the paper's code.
func LabelProb(logprobA, logprobB *float64) float64 {
	switch {
	case logprobA == nil && logprobB == nil:
		return 0.5
	case logprobB == nil:
		return 1
	case logprobA == nil:
		return 0
	}
	a, b := *logprobA, *logprobB
	if math.IsInf(a, -1) && math.IsInf(b, -1) {
		return 0.5 // both impossible: b-a would be NaN
	}
	// softmax of two: 1/(1+exp(b-a)), computed from the larger side so that
	// no exp overflows.
	if a >= b {
		return 1 / (1 + math.Exp(b-a))
	}
	e := math.Exp(a - b)
	return e / (1 + e)
}

// CandidateScores returns each candidate's score: the mean of p(a) over the
// comparisons where it was output (a) and of 1−p(a) over those where it was
// output (b). Only candidates with keep[i] true count, and only comparisons
// between two of them; keep may be nil to keep all n. A kept candidate
// without any comparison gets NaN. A comparison whose index is out of range
// or that compares a candidate with itself is an error.
func CandidateScores(n int, comps []Comparison, keep []bool) ([]float64, error) {
	if keep != nil && len(keep) != n {
		return nil, fmt.Errorf("keep has %d entries for %d candidates", len(keep), n)
	}
	kept := func(i int) bool { return keep == nil || keep[i] }
	sum := make([]float64, n)
	count := make([]int, n)
	for k, c := range comps {
		if c.I < 0 || c.I >= n || c.J < 0 || c.J >= n {
			return nil, fmt.Errorf("comparison %d is of candidates %d and %d but there are %d candidates", k, c.I, c.J, n)
		}
		if c.I == c.J {
			return nil, fmt.Errorf("comparison %d compares candidate %d with itself", k, c.I)
		}
		if !kept(c.I) || !kept(c.J) {
			continue
		}
		pa := LabelProb(c.LogprobA, c.LogprobB)
		sum[c.I] += pa
		count[c.I]++
		sum[c.J] += 1 - pa
		count[c.J]++
	}
	scores := make([]float64, n)
	for i := range scores {
		if count[i] == 0 {
			scores[i] = math.NaN()
			continue
		}
		scores[i] = sum[i] / float64(count[i])
	}
	return scores, nil
}

// ChooseExtremes returns the indexes of the highest and the lowest score
// among the candidates with keep[i] true (keep may be nil) and a score that
// is not NaN. Ties go to the lowest index, as numpy's argmax and argmin do.
// ok is false when fewer than two candidates are eligible or all eligible
// scores are equal.
func ChooseExtremes(scores []float64, keep []bool) (chosen, rejected int, ok bool) {
	chosen, rejected = -1, -1
	eligible := 0
	for i, s := range scores {
		if (keep != nil && !keep[i]) || math.IsNaN(s) {
			continue
		}
		eligible++
		if chosen < 0 || s > scores[chosen] {
			chosen = i
		}
		if rejected < 0 || s < scores[rejected] {
			rejected = i
		}
	}
	if eligible < 2 || scores[chosen] == scores[rejected] {
		return -1, -1, false
	}
	return chosen, rejected, true
}

// OrderedPairs lists the ordered pairs (i, j), i ≠ j, of n candidates in the
// order the score stage judges them: i ascending, then j ascending.
func OrderedPairs(n int) [][2]int {
	var out [][2]int
	for i := range n {
		for j := range n {
			if i != j {
				out = append(out, [2]int{i, j})
			}
		}
	}
	return out
}

// NewComparison returns the comparison of candidates i (as output (a)) and
// j (as output (b)) with the judge's label log-probs and their p(a).
func NewComparison(i, j int, logprobA, logprobB *float64) Comparison {
	return Comparison{I: i, J: j, LogprobA: logprobA, LogprobB: logprobB, PA: LabelProb(logprobA, logprobB)}
}
