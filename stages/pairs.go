package stages

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/refeval/refeval/engine"
)

// The pairs kind: turns a score stage's verdicts into chosen/rejected pairs
// for DPO, as RLRR's data_processing.py does.
//
//	stage "pairs" "train" {
//	  scores    = stage.score.train.out  # folder holding scores.jsonl
//	  tokenizer = stage.sft.distill      # required: the policy (or its tokenizer.json); lengths are its tokens
//	  max_len   = 2048                   # candidates whose conversation is longer are dropped
//	}
//
// It writes pairs.jsonl (one Pair per kept prompt) and metrics.json
// (PairsMetrics) into its output folder.

// DefaultMaxLen is the default max_len of the pairs kind: RLRR drops
// candidates whose templated conversation is longer than 2048 tokens
// (data_processing.py, --max_len).
const DefaultMaxLen = 2048

// PairsVersion is the pairs kind's implementation version; bump it when the
// same scores would give other pairs.
//
// 2: scores over all comparisons before the length filter, identical texts
// merged, lengths in tokens of the chat-templated conversation.
// 3: metrics.json names the tokenizer by its folder's base name, not its path.
const PairsVersion = "3"

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
type LengthFunc func(prompt, response string) (int, error)

// PairsMetrics is the content of the pairs stage's metrics.json: what went
// in, what came out, and every candidate and prompt left out, by reason.
type PairsMetrics struct {
	Prompts    int `json:"prompts"`    // lines of scores.jsonl
	Candidates int `json:"candidates"` // candidates over all prompts, duplicates included
	Pairs      int `json:"pairs"`      // lines of pairs.jsonl
	MaxLen     int `json:"max_len"`
	// TokenCounter names the tokenizer lengths were counted with:
	// "tokenizer PATH".
	TokenCounter string          `json:"token_counter"`
	Dropped      DroppedCounts   `json:"dropped_candidates"`
	Skipped      SkippedCounts   `json:"skipped_prompts"`
	Scores       ScoreStatistics `json:"scores"`
}

// DroppedCounts counts candidates left out of the choice, by reason.
type DroppedCounts struct {
	Duplicate int `json:"duplicate"` // same text as an earlier candidate of the prompt (merged into it)
	TooLong   int `json:"too_long"`  // longer than max_len tokens
	Unjudged  int `json:"unjudged"`  // in no comparison
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

// BuildPairs turns score lines into pairs, in RLRR's order. For each
// prompt it merges candidates with identical text into one (RLRR keys
// candidates by text, so a comparison of two copies adds p(a) and 1−p(a) to
// the same candidate), scores every candidate over all its comparisons
// (textScores), then drops the candidates whose length exceeds maxLen, and
// pairs the highest score (chosen) with the lowest (rejected) among the
// rest; a prompt with fewer than two candidates left, or whose candidates
// all tie, is skipped. Since chosen and rejected differ in score they
// differ in text. Errors name the line (1-based) and say what is wrong.
func BuildPairs(lines []ScoreLine, maxLen int, length LengthFunc) ([]Pair, PairsMetrics, error) {
	m := PairsMetrics{Prompts: len(lines), MaxLen: maxLen}
	var pairs []Pair
	for n, line := range lines {
		if err := checkScoreLine(line); err != nil {
			return nil, PairsMetrics{}, fmt.Errorf("line %d: %w", n+1, err)
		}
		m.Candidates += len(line.Candidates)
		texts, scores, err := textScores(line)
		if err != nil {
			return nil, PairsMetrics{}, fmt.Errorf("line %d: %w", n+1, err)
		}
		m.Dropped.Duplicate += len(line.Candidates) - len(texts)
		keep := make([]bool, len(texts))
		kept := 0
		for i, t := range texts {
			if math.IsNaN(scores[i]) {
				m.Dropped.Unjudged++
				continue
			}
			l, err := length(line.Prompt, t)
			if err != nil {
				return nil, PairsMetrics{}, fmt.Errorf("line %d: %w", n+1, err)
			}
			if l > maxLen {
				m.Dropped.TooLong++
				continue
			}
			keep[i] = true
			kept++
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
			Chosen:        Conversation(line.Prompt, texts[chosen]),
			Rejected:      Conversation(line.Prompt, texts[rejected]),
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

// textScores returns the distinct candidate texts of a score line, in order
// of first appearance, and each one's score: the mean of p(a) over the
// comparisons where one of its copies was output (a) and of 1−p(a) over
// those where one was output (b), over all comparisons of the line. A text
// in no comparison gets NaN.
func textScores(line ScoreLine) ([]string, []float64, error) {
	group := make([]int, len(line.Candidates))
	index := map[string]int{}
	var texts []string
	for i, c := range line.Candidates {
		g, ok := index[c.Text]
		if !ok {
			g = len(texts)
			index[c.Text] = g
			texts = append(texts, c.Text)
		}
		group[i] = g
	}
	n := len(line.Candidates)
	sum := make([]float64, len(texts))
	count := make([]int, len(texts))
	for k, c := range line.Comparisons {
		if c.I < 0 || c.I >= n || c.J < 0 || c.J >= n {
			return nil, nil, fmt.Errorf("comparison %d is of candidates %d and %d but there are %d candidates", k, c.I, c.J, n)
		}
		if c.I == c.J {
			return nil, nil, fmt.Errorf("comparison %d compares candidate %d with itself", k, c.I)
		}
		pa := LabelProb(c.LogprobA, c.LogprobB)
		sum[group[c.I]] += pa
		count[group[c.I]]++
		sum[group[c.J]] += 1 - pa
		count[group[c.J]]++
	}
	scores := make([]float64, len(texts))
	for i := range scores {
		scores[i] = math.NaN()
		if count[i] > 0 {
			scores[i] = sum[i] / float64(count[i])
		}
	}
	return texts, scores, nil
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
	tokenizer string // the policy's folder, or its tokenizer.json
}

func decodePairs(body hcl.Body, ectx *hcl.EvalContext) (engine.Stage, hcl.Diagnostics) {
	a := newAttrs(body, pairsSchema, ectx)
	s := &pairsStage{maxLen: DefaultMaxLen}
	a.path("scores", &s.scores, "the output folder of a score stage, such as stage.score.train")
	a.path("tokenizer", &s.tokenizer, "the policy whose tokens max_len counts: a model folder or stage (such as stage.sft.distill), or the path of its tokenizer.json")
	a.integer("max_len", &s.maxLen, 1, math.MaxInt32)
	if !a.has("tokenizer") {
		a.diags = append(a.diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing tokenizer",
			Detail:   "The pairs kind counts max_len in tokens of the chat-templated conversation, as the paper's code does, so it needs the policy's tokenizer: add tokenizer = stage.sft.NAME (or a model folder, or the path of a tokenizer.json with its tokenizer_config.json beside it).",
			Subject:  body.MissingItemRange().Ptr(),
		})
	}
	return s, a.diags
}

func (s *pairsStage) Inputs() []string { return []string{s.scores, s.tokenizer} }

// chatText loads the tokenizer and chat template lengths are counted with:
// from a folder (tokenizer.json and tokenizer_config.json), or from a
// tokenizer.json file and the tokenizer_config.json beside it.
func (s *pairsStage) chatText(dir string) (*chatText, error) {
	path := resolve(dir, s.tokenizer)
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("loading the tokenizer: %w", err)
	}
	var ct *chatText
	if fi.IsDir() {
		ct, err = loadChatText(path)
	} else {
		ct, err = loadChatTextFrom(path, filepath.Join(filepath.Dir(path), "tokenizer_config.json"))
	}
	if err != nil {
		return nil, fmt.Errorf("loading the tokenizer: %w", err)
	}
	return ct, nil
}

func (s *pairsStage) Run(ctx context.Context, rc *engine.RunContext) error {
	dir := resolve(rc.Dir, s.scores)
	lines, err := ReadJSONL[ScoreLine](filepath.Join(dir, ScoresFile))
	if err != nil {
		return fmt.Errorf("reading scores: %w", err)
	}
	ct, err := s.chatText(rc.Dir)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	pairs, m, err := BuildPairs(lines, s.maxLen, ct.conversationLength)
	if err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, ScoresFile), err)
	}
	// The folder's base name only: an upstream stage's folder is named by its
	// OutputID, so the metrics (and this stage's OutputID) do not depend on
	// where the cache lives.
	m.TokenCounter = "tokenizer " + filepath.Base(s.tokenizer)
	if err := WriteJSONL(filepath.Join(rc.Out, PairsFile), pairs); err != nil {
		return err
	}
	if err := writeMetrics(rc.Out, m); err != nil {
		return err
	}
	logf(rc, "pairs: %d of %d prompts gave a pair; merged %d duplicate candidates, dropped %d too-long and %d unjudged; skipped %d prompts with fewer than two candidates and %d with all scores tied\n",
		m.Pairs, m.Prompts, m.Dropped.Duplicate, m.Dropped.TooLong, m.Dropped.Unjudged, m.Skipped.FewerThanTwo, m.Skipped.AllTied)
	return nil
}
