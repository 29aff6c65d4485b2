package stages

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/llm/tokenizer"
)

// allPairs judges every ordered pair of n candidates with p(a) from pa.
func judgeAll(n int, pa func(i, j int) float64) []Comparison {
	var out []Comparison
	for i := range n {
		for j := range n {
			if i != j {
				p := pa(i, j)
				out = append(out, judged(i, j, logp(p), logp(1-p)))
			}
		}
	}
	return out
}

func textLines(ts ...string) []TextLine {
	var out []TextLine
	for _, t := range ts {
		out = append(out, TextLine{Text: t})
	}
	return out
}

// scoreLines is a small scores.jsonl. With max_len 6 and ChatMLLength of
// CountWords, a candidate to a one-word prompt may have at most 4 words
// ("<|im_start|>user", the prompt, "<|im_start|>assistant", the response,
// the last word of each fused with "<|im_end|>").
var scoreLines = []ScoreLine{
	// The hand-worked example: chosen c2 (0.7), rejected c0 (0.35).
	{Prompt: "q1", Reference: "r1", Candidates: textLines("zero", "one", "two"), Comparisons: handWorked},
	// All tied.
	{Prompt: "q2", Candidates: textLines("same", "same"), Comparisons: []Comparison{judged(0, 1, nil, nil), judged(1, 0, nil, nil)}},
	// c1 is too long; it would win everything. Among c0 and c2:
	// c0 = (0.9 + 0.7)/2 = 0.8, c2 = (0.1 + 0.3)/2 = 0.2.
	{Prompt: "q3", Candidates: textLines("x y", "a b c d e", "z"), Comparisons: judgeAll(3, func(i, j int) float64 {
		switch {
		case i == 1:
			return 0.99
		case j == 1:
			return 0.01
		case i == 0:
			return 0.9
		}
		return 0.3
	})},
	// Two of three too long: fewer than two left.
	{Prompt: "q4", Candidates: textLines("ok", "a b c d e", "a b c d e f"), Comparisons: judgeAll(3, func(i, j int) float64 { return 0.6 })},
	// c2 never judged: pair from c0 (0.25) and c1 (0.75).
	{Prompt: "q5", Candidates: textLines("p", "q", "r"), Comparisons: []Comparison{judged(0, 1, logp(0.25), logp(0.75))}},
	// A single candidate.
	{Prompt: "q6", Candidates: textLines("alone"), Comparisons: nil},
}

var wantPairs = []Pair{
	{Prompt: "q1", Chosen: Conversation("q1", "two"), Rejected: Conversation("q1", "zero"), ScoreChosen: 0.7, ScoreRejected: 0.35},
	{Prompt: "q3", Chosen: Conversation("q3", "x y"), Rejected: Conversation("q3", "z"), ScoreChosen: 0.8, ScoreRejected: 0.2},
	{Prompt: "q5", Chosen: Conversation("q5", "q"), Rejected: Conversation("q5", "p"), ScoreChosen: 0.75, ScoreRejected: 0.25},
}

var wantMetrics = PairsMetrics{
	Prompts: 6, Candidates: 15, Pairs: 3, MaxLen: 6, TokenCounter: "words",
	Dropped: DroppedCounts{TooLong: 3, Unjudged: 1},
	Skipped: SkippedCounts{FewerThanTwo: 2, AllTied: 1},
	Scores:  ScoreStatistics{MeanChosen: (0.7 + 0.8 + 0.75) / 3, MeanRejected: (0.35 + 0.2 + 0.25) / 3},
}

var approxFloats = cmpopts.EquateApprox(0, 1e-12)

func TestBuildPairs(t *testing.T) {
	pairs, m, err := BuildPairs(scoreLines, 6, ChatMLLength(CountWords))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantPairs, pairs, approxFloats); d != "" {
		t.Errorf("wrong pairs (-want +got):\n%s", d)
	}
	want := wantMetrics
	want.TokenCounter = ""
	if d := cmp.Diff(want, m, approxFloats); d != "" {
		t.Errorf("wrong metrics (-want +got):\n%s", d)
	}
}

func TestBuildPairsErrors(t *testing.T) {
	bad := judged(0, 1, logp(0.8), logp(0.2))
	bad.PA = 0.5
	tests := []struct {
		name string
		line ScoreLine
		want string
	}{
		{"p_a disagrees", ScoreLine{Candidates: textLines("a", "b"), Comparisons: []Comparison{bad}}, "line 2: comparison 0 (0, 1) has p_a 0.5 but its log-probs give 0.8"},
		{"repeated pair", ScoreLine{Candidates: textLines("a", "b"), Comparisons: []Comparison{judged(0, 1, nil, nil), judged(0, 1, nil, nil)}}, "line 2: comparison 1 repeats the ordered pair (0, 1)"},
		{"out of range", ScoreLine{Candidates: textLines("a", "b"), Comparisons: []Comparison{judged(0, 5, nil, nil)}}, "line 2: comparison 0 is of candidates 0 and 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := BuildPairs([]ScoreLine{scoreLines[0], tt.line}, 10, ChatMLLength(CountWords))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("wrong error\ngot:  %v\nwant: …%s…", err, tt.want)
			}
		})
	}
}

func decodePairsHCL(t *testing.T, src string) (engine.Stage, hcl.Diagnostics) {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), "pipeline.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	k, ok := Lookup("pairs")
	if !ok {
		t.Fatal("pairs kind not registered")
	}
	return k.Decode(f.Body, &hcl.EvalContext{})
}

// TestPairsStage decodes a stage block and runs it on a scores folder given
// relative to the pipeline folder, as the engine would.
func TestPairsStage(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "scored"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSONL(filepath.Join(dir, "scored", ScoresFile), scoreLines); err != nil {
		t.Fatal(err)
	}
	st, diags := decodePairsHCL(t, "scores = \"scored\"\nmax_len = 6\n")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got, want := st.Inputs(), []string{"scored"}; !cmp.Equal(got, want) {
		t.Errorf("wrong inputs\ngot:  %#v\nwant: %#v", got, want)
	}
	out := t.TempDir()
	var log strings.Builder
	if err := st.Run(context.Background(), &engine.RunContext{Addr: "stage.pairs.t", Dir: dir, Out: out, Log: &log}); err != nil {
		t.Fatal(err)
	}
	pairs, err := ReadJSONL[Pair](filepath.Join(out, PairsFile))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantPairs, pairs, approxFloats); d != "" {
		t.Errorf("wrong pairs.jsonl (-want +got):\n%s", d)
	}
	b, err := os.ReadFile(filepath.Join(out, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	var m PairsMetrics
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(wantMetrics, m, approxFloats); d != "" {
		t.Errorf("wrong metrics.json (-want +got):\n%s", d)
	}
	if !strings.Contains(log.String(), "3 of 6 prompts gave a pair") {
		t.Errorf("wrong log\ngot:  %q\nwant: …3 of 6 prompts gave a pair…", log.String())
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 2 {
		t.Errorf("wrong output files\ngot:  %v\nwant: [%s %s]", entries, MetricsFile, PairsFile)
	}
}

func TestPairsStageDefaultMaxLen(t *testing.T) {
	st, diags := decodePairsHCL(t, `scores = "x"`)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got := st.(*pairsStage).maxLen; got != DefaultMaxLen {
		t.Errorf("wrong max_len\ngot:  %#v\nwant: %#v", got, DefaultMaxLen)
	}
}

func TestPairsStageRunErrors(t *testing.T) {
	dir := t.TempDir()
	st, _ := decodePairsHCL(t, `scores = "missing"`)
	err := st.Run(context.Background(), &engine.RunContext{Dir: dir, Out: t.TempDir(), Log: io.Discard})
	if want := filepath.Join(dir, "missing", ScoresFile); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("wrong error\ngot:  %v\nwant: …%s…", err, want)
	}
	if err := os.WriteFile(filepath.Join(dir, ScoresFile), []byte(`{"prompt": "p", "candidates": []}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, _ = decodePairsHCL(t, `scores = "."`)
	err = st.Run(context.Background(), &engine.RunContext{Dir: dir, Out: t.TempDir(), Log: io.Discard})
	if want := `:1: missing key "comparisons"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("wrong error\ngot:  %v\nwant: …%s…", err, want)
	}
}

func TestPairsDecodeErrors(t *testing.T) {
	tests := []struct {
		name, src string
		want      string // summary of the one diagnostic
		line      int
	}{
		{"no scores", "max_len = 10\n", "Missing required argument", 1},
		{"fractional max_len", "scores = \"s\"\nmax_len = 1.5\n", "Invalid max_len", 2},
		{"zero max_len", "scores = \"s\"\nmax_len = 0\n", "Invalid max_len", 2},
		{"string max_len", "scores = \"s\"\nmax_len = \"long\"\n", "Invalid max_len", 2},
		{"list scores", "scores = [\"a\"]\n", "Invalid scores", 1},
		{"null scores", "scores = null\n", "Invalid scores", 1},
		{"unknown argument", "scores = \"s\"\ntokens = 3\n", "Unsupported argument", 2},
		{"empty tokenizer", "scores = \"s\"\ntokenizer = \"\"\n", "Invalid tokenizer", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, diags := decodePairsHCL(t, tt.src)
			if len(diags) != 1 {
				t.Fatalf("wrong diagnostics\ngot:  %v\nwant: one %q", diags, tt.want)
			}
			d := diags[0]
			if d.Summary != tt.want || d.Subject == nil || d.Subject.Start.Line != tt.line {
				t.Errorf("wrong diagnostic\ngot:  %q at %v\nwant: %q at line %d", d.Summary, d.Subject, tt.want, tt.line)
			}
		})
	}
}

func TestChatMLLength(t *testing.T) {
	count := ChatMLLength(CountWords)
	if got := count("what is two plus two", "four"); got != 2+5+1 {
		t.Errorf("wrong length\ngot:  %#v\nwant: %#v", got, 8)
	}
	if got := ChatMLLength(func(s string) int { return len(s) })("", ""); got != len("<|im_start|>user\n<|im_end|>\n<|im_start|>assistant\n<|im_end|>\n") {
		t.Errorf("wrong rendering length %d", got)
	}
}

// TestPairsStageTokenizer counts lengths with a byte-level tokenizer
// without merges: one token per byte, one per ChatML marker. For the prompt
// "q" a response of k bytes is 22+k tokens ("user\nq" 6, "\n" twice,
// "assistant\n" 10, four markers), so max_len 24 keeps "a" and "ab" and
// drops "abcd", where counting words would keep all three.
func TestPairsStageTokenizer(t *testing.T) {
	dir := t.TempDir()
	tj, err := tokenizer.Train([]string{"ab"}, tokenizer.TrainOptions{VocabSize: 259})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), tj, 0o644); err != nil {
		t.Fatal(err)
	}
	line := RougeScoreLine("q", "ab", textLines("a", "abcd", "ab"))
	if err := WriteJSONL(filepath.Join(dir, ScoresFile), []ScoreLine{line}); err != nil {
		t.Fatal(err)
	}
	st, diags := decodePairsHCL(t, "scores = \".\"\nmax_len = 24\ntokenizer = \"tokenizer.json\"\n")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got, want := st.Inputs(), []string{".", "tokenizer.json"}; !cmp.Equal(got, want) {
		t.Errorf("wrong inputs\ngot:  %#v\nwant: %#v", got, want)
	}
	out := t.TempDir()
	if err := st.Run(context.Background(), &engine.RunContext{Dir: dir, Out: out, Log: io.Discard}); err != nil {
		t.Fatal(err)
	}
	var m PairsMetrics
	b, err := os.ReadFile(filepath.Join(out, MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	want := PairsMetrics{Prompts: 1, Candidates: 3, Pairs: 1, MaxLen: 24, TokenCounter: "tokenizer tokenizer.json",
		Dropped: DroppedCounts{TooLong: 1}, Scores: ScoreStatistics{MeanChosen: 1, MeanRejected: 0}}
	if d := cmp.Diff(want, m); d != "" {
		t.Errorf("wrong metrics.json (-want +got):\n%s", d)
	}
	pairs, err := ReadJSONL[Pair](filepath.Join(out, PairsFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 1 || pairs[0].Chosen[1].Content != "ab" || pairs[0].Rejected[1].Content != "a" {
		t.Errorf("wrong pairs: %#v", pairs)
	}

	st, _ = decodePairsHCL(t, "scores = \".\"\ntokenizer = \"nope.json\"\n")
	err = st.Run(context.Background(), &engine.RunContext{Dir: dir, Out: t.TempDir(), Log: io.Discard})
	if want := "loading the tokenizer"; err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "nope.json") {
		t.Errorf("wrong error\ngot:  %v\nwant: …%s…nope.json…", err, want)
	}
}
