package stages

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/llm/tokenizer"
)

// The pairs kind: turns a score stage's verdicts into chosen/rejected pairs
// for DPO.
//
//	stage "pairs" "train" {
//	  scores    = stage.score.train.out        # folder holding scores.jsonl
//	  max_len   = 2048                         # optional; candidates longer are dropped
//	  tokenizer = "models/demo/tokenizer.json" # optional; counts words without it
//	}
//
// It writes pairs.jsonl (one Pair per kept prompt) and metrics.json
// (PairsMetrics) into its output folder.

// DefaultMaxLen is the default max_len of the pairs kind: the paper drops
// candidates longer than 2048 templated tokens.
const DefaultMaxLen = 2048

// PairsVersion is the pairs kind's implementation version; bump it when the
// same scores would give other pairs.
const PairsVersion = "1"

func init() {
	Register(&engine.Kind{
		Name:    "pairs",
		Version: PairsVersion,
		Schema:  pairsSchema,
		Decode:  decodePairs,
	})
}

// A LengthFunc returns the length in tokens of a candidate response to a
// prompt, measured the way the policy will see it in training.
type LengthFunc func(prompt, response string) int

// ChatMLLength returns a LengthFunc that renders the prompt and the response
// as a two-turn ChatML conversation and counts its tokens with count.
func ChatMLLength(count func(text string) int) LengthFunc {
	return func(prompt, response string) int {
		return count("<|im_start|>user\n" + prompt + "<|im_end|>\n<|im_start|>assistant\n" + response + "<|im_end|>\n")
	}
}

// CountWords counts whitespace-separated words. The pairs kind uses it as
// its token counter when no tokenizer is given: words are fewer than
// tokens, so it drops fewer candidates than the paper's rule.
func CountWords(text string) int {
	return len(strings.Fields(text))
}

// PairsMetrics is the content of the pairs stage's metrics.json: what went
// in, what came out, and every candidate and prompt left out, by reason.
type PairsMetrics struct {
	Prompts    int `json:"prompts"`    // lines of scores.jsonl
	Candidates int `json:"candidates"` // candidates over all prompts
	Pairs      int `json:"pairs"`      // lines of pairs.jsonl
	MaxLen     int `json:"max_len"`
	// TokenCounter names how lengths were measured: "words" for CountWords,
	// or "tokenizer PATH".
	TokenCounter string          `json:"token_counter"`
	Dropped      DroppedCounts   `json:"dropped_candidates"`
	Skipped      SkippedCounts   `json:"skipped_prompts"`
	Scores       ScoreStatistics `json:"scores"`
}

// DroppedCounts counts candidates left out of scoring, by reason.
type DroppedCounts struct {
	TooLong  int `json:"too_long"` // longer than max_len tokens
	Unjudged int `json:"unjudged"` // no comparison with another kept candidate
}

// SkippedCounts counts prompts that gave no pair, by reason.
type SkippedCounts struct {
	FewerThanTwo int `json:"fewer_than_two_candidates"` // after dropping
	AllTied      int `json:"all_tied"`                  // every kept candidate has the same score
}

// ScoreStatistics averages the scores of the kept pairs.
type ScoreStatistics struct {
	MeanChosen   float64 `json:"mean_chosen"`
	MeanRejected float64 `json:"mean_rejected"`
}

// BuildPairs turns score lines into pairs. For each prompt it drops the
// candidates whose length exceeds maxLen, scores the rest with
// CandidateScores over the comparisons between them, and pairs the highest
// (chosen) with the lowest (rejected); a prompt with fewer than two
// candidates left, or whose candidates all tie, is skipped. Errors name the
// line (1-based) and say what is wrong with it.
func BuildPairs(lines []ScoreLine, maxLen int, length LengthFunc) ([]Pair, PairsMetrics, error) {
	m := PairsMetrics{Prompts: len(lines), MaxLen: maxLen}
	var pairs []Pair
	for n, line := range lines {
		if err := checkScoreLine(line); err != nil {
			return nil, PairsMetrics{}, fmt.Errorf("line %d: %w", n+1, err)
		}
		m.Candidates += len(line.Candidates)
		keep := make([]bool, len(line.Candidates))
		kept := 0
		for i, c := range line.Candidates {
			keep[i] = length(line.Prompt, c.Text) <= maxLen
			if keep[i] {
				kept++
			} else {
				m.Dropped.TooLong++
			}
		}
		scores, err := CandidateScores(len(line.Candidates), line.Comparisons, keep)
		if err != nil {
			return nil, PairsMetrics{}, fmt.Errorf("line %d: %w", n+1, err)
		}
		if kept >= 2 {
			for i := range keep {
				if keep[i] && math.IsNaN(scores[i]) {
					keep[i] = false
					kept--
					m.Dropped.Unjudged++
				}
			}
		}
		if kept < 2 {
			m.Skipped.FewerThanTwo++
			continue
		}
		chosen, rejected, ok := ChooseExtremes(scores, keep)
		if !ok {
			m.Skipped.AllTied++
			continue
		}
		pairs = append(pairs, Pair{
			Prompt:        line.Prompt,
			Chosen:        Conversation(line.Prompt, line.Candidates[chosen].Text),
			Rejected:      Conversation(line.Prompt, line.Candidates[rejected].Text),
			ScoreChosen:   scores[chosen],
			ScoreRejected: scores[rejected],
		})
		m.Scores.MeanChosen += scores[chosen]
		m.Scores.MeanRejected += scores[rejected]
	}
	m.Pairs = len(pairs)
	if m.Pairs > 0 {
		m.Scores.MeanChosen /= float64(m.Pairs)
		m.Scores.MeanRejected /= float64(m.Pairs)
	}
	return pairs, m, nil
}

// pATolerance is how far a score line's p_a may be from LabelProb of its
// log-probs: JSON round trips of float64 are exact, so anything beyond
// rounding means the line was edited or written by another formula.
const pATolerance = 1e-9

// checkScoreLine rejects comparisons that repeat an ordered pair or whose
// p_a disagrees with their log-probs.
func checkScoreLine(line ScoreLine) error {
	seen := map[[2]int]bool{}
	for k, c := range line.Comparisons {
		key := [2]int{c.I, c.J}
		if seen[key] {
			return fmt.Errorf("comparison %d repeats the ordered pair (%d, %d); each ordered pair is judged once", k, c.I, c.J)
		}
		seen[key] = true
		if p := LabelProb(c.LogprobA, c.LogprobB); math.Abs(p-c.PA) > pATolerance {
			return fmt.Errorf("comparison %d (%d, %d) has p_a %v but its log-probs give %v; rerun the score stage", k, c.I, c.J, c.PA, p)
		}
	}
	return nil
}

var pairsSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "scores", Required: true},
	{Name: "max_len"},
	{Name: "tokenizer"},
}}

type pairsStage struct {
	scores    string // the score stage's output folder
	maxLen    int
	tokenizer string // tokenizer.json counting lengths; "" counts words
}

func decodePairs(body hcl.Body, ectx *hcl.EvalContext) (engine.Stage, hcl.Diagnostics) {
	a := newAttrs(body, pairsSchema, ectx)
	s := &pairsStage{maxLen: DefaultMaxLen}
	a.path("scores", &s.scores, "the output folder of a score stage, such as stage.score.train")
	a.path("tokenizer", &s.tokenizer, "the path of the policy's tokenizer.json, such as \"models/demo/tokenizer.json\"; leave it out to count words")
	a.integer("max_len", &s.maxLen, 1, math.MaxInt32)
	return s, a.diags
}

func (s *pairsStage) Inputs() []string {
	if s.tokenizer != "" {
		return []string{s.scores, s.tokenizer}
	}
	return []string{s.scores}
}

// counter returns the token counter of the stage and its name.
func (s *pairsStage) counter(dir string) (func(string) int, string, error) {
	if s.tokenizer == "" {
		return CountWords, "words", nil
	}
	tok, err := tokenizer.Load(resolve(dir, s.tokenizer))
	if err != nil {
		return nil, "", fmt.Errorf("loading the tokenizer: %w", err)
	}
	return func(text string) int { return len(tok.Encode(text)) }, "tokenizer " + s.tokenizer, nil
}

func (s *pairsStage) Run(ctx context.Context, rc *engine.RunContext) error {
	dir := resolve(rc.Dir, s.scores)
	lines, err := ReadJSONL[ScoreLine](filepath.Join(dir, ScoresFile))
	if err != nil {
		return fmt.Errorf("reading scores: %w", err)
	}
	count, counterName, err := s.counter(rc.Dir)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	pairs, m, err := BuildPairs(lines, s.maxLen, ChatMLLength(count))
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, ScoresFile), err)
	}
	m.TokenCounter = counterName
	if err := WriteJSONL(filepath.Join(rc.Out, PairsFile), pairs); err != nil {
		return err
	}
	if err := writeMetrics(rc.Out, m); err != nil {
		return err
	}
	logf(rc, "pairs: %d of %d prompts gave a pair; dropped %d too-long and %d unjudged candidates; skipped %d prompts with fewer than two candidates and %d with all scores tied\n",
		m.Pairs, m.Prompts, m.Dropped.TooLong, m.Dropped.Unjudged, m.Skipped.FewerThanTwo, m.Skipped.AllTied)
	return nil
}
