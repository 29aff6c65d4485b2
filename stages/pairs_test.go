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

// byteLen is a LengthFunc for tests: the response's length in bytes.
func byteLen(_, response string) (int, error) { return len(response), nil }

// scoreLines is a small scores.jsonl. With max_len 5 and byteLen, a
// candidate may have at most 5 bytes.
var scoreLines = []ScoreLine{
	// The hand-worked example: chosen c2 (0.7), rejected c0 (0.35).
	{Prompt: "q1", Reference: "r1", Candidates: textLines("zero", "one", "two"), Comparisons: handWorked},
	// Identical texts are one candidate: fewer than two left.
	{Prompt: "q2", Candidates: textLines("same", "same"), Comparisons: []Comparison{judged(0, 1, logp(0.9), logp(0.1)), judged(1, 0, nil, nil)}},
	// c1 is too long; it wins everything. Scores over all comparisons
	// (RLRR's order, dropping c1 afterwards):
	// c0 = (0.01 + 0.9 + 0.01 + 0.7)/4 = 0.405, c2 = (0.3 + 0.01 + 0.1 + 0.01)/4 = 0.105.
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
	// A single candidate, never judged.
	{Prompt: "q6", Candidates: textLines("alone"), Comparisons: nil},
	// All tied.
	{Prompt: "q7", Candidates: textLines("one", "two"), Comparisons: []Comparison{judged(0, 1, nil, nil), judged(1, 0, nil, nil)}},
}

var wantPairs = []Pair{
	{Prompt: "q1", Chosen: Conversation("q1", "two"), Rejected: Conversation("q1", "zero"), ScoreChosen: 0.7, ScoreRejected: 0.35},
	{Prompt: "q3", Chosen: Conversation("q3", "x y"), Rejected: Conversation("q3", "z"), ScoreChosen: 0.405, ScoreRejected: 0.105},
	{Prompt: "q5", Chosen: Conversation("q5", "q"), Rejected: Conversation("q5", "p"), ScoreChosen: 0.75, ScoreRejected: 0.25},
}

var wantMetrics = PairsMetrics{
	Prompts: 7, Candidates: 17, Pairs: 3, MaxLen: 5, TokenCounter: "tokenizer tok",
	Dropped: DroppedCounts{Duplicate: 1, TooLong: 3, Unjudged: 2},
	Skipped: SkippedCounts{FewerThanTwo: 3, AllTied: 1},
	Scores:  ScoreStatistics{MeanChosen: (0.7 + 0.405 + 0.75) / 3, MeanRejected: (0.35 + 0.105 + 0.25) / 3},
}

var approxFloats = cmpopts.EquateApprox(0, 1e-12)

func TestBuildPairs(t *testing.T) {
	pairs, m, err := BuildPairs(scoreLines, 5, byteLen)
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

// TestBuildPairsScoresBeforeLengthFilter is the case of issue 8: C is too
// long; A loses to B (0.4), beats C (0.9), and B loses to C (0.1). Over all
// comparisons A scores (0.4 + 0.9 + 0.4 + 0.9)/4 = 0.65 and B 0.35, so
// RLRR picks A over B; scoring only the comparisons between A and B would
// pick B (0.6) over A (0.4).
func TestBuildPairsScoresBeforeLengthFilter(t *testing.T) {
	p := map[[2]int]float64{{0, 1}: 0.4, {1, 0}: 0.6, {0, 2}: 0.9, {2, 0}: 0.1, {1, 2}: 0.1, {2, 1}: 0.9}
	line := ScoreLine{Prompt: "q", Candidates: textLines("A", "B", "C too long"),
		Comparisons: judgeAll(3, func(i, j int) float64 { return p[[2]int{i, j}] })}
	pairs, m, err := BuildPairs([]ScoreLine{line}, 5, byteLen)
	if err != nil {
		t.Fatal(err)
	}
	want := []Pair{{Prompt: "q", Chosen: Conversation("q", "A"), Rejected: Conversation("q", "B"), ScoreChosen: 0.65, ScoreRejected: 0.35}}
	if d := cmp.Diff(want, pairs, approxFloats); d != "" {
		t.Errorf("wrong pairs (-want +got):\n%s", d)
	}
	if m.Dropped.TooLong != 1 {
		t.Errorf("wrong too_long count\ngot:  %d\nwant: 1", m.Dropped.TooLong)
	}
}

// TestBuildPairsMergesIdenticalTexts: copies of a text are one candidate
// whose score pools every comparison of every copy (a comparison of two
// copies adds p and 1−p to it, as RLRR's dict keyed by text does), and no
// pair has chosen equal to rejected.
func TestBuildPairsMergesIdenticalTexts(t *testing.T) {
	tests := []struct {
		name      string
		texts     []string
		pa        func(i, j int) float64
		want      []Pair
		duplicate int
	}{
		{
			// "x" (0 and 2) beats "y" 0.8 in each order; the copies tie 0.5.
			// x pools 8 values: 0.8 four times, 0.5 four times: 0.65; y 0.2.
			name: "pooled", texts: []string{"x", "y", "x"},
			pa: func(i, j int) float64 {
				switch {
				case i == 1:
					return 0.2
				case j == 1:
					return 0.8
				}
				return 0.5
			},
			want:      []Pair{{Prompt: "q", Chosen: Conversation("q", "x"), Rejected: Conversation("q", "y"), ScoreChosen: 0.65, ScoreRejected: 0.2}},
			duplicate: 1,
		},
		{
			// Without merging, copy 0 (beats copy 1) would be chosen over copy 1.
			name: "all copies", texts: []string{"same", "same"},
			pa:        func(i, j int) float64 { return map[bool]float64{true: 0.9, false: 0.6}[i == 0] },
			duplicate: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			line := ScoreLine{Prompt: "q", Candidates: textLines(tt.texts...), Comparisons: judgeAll(len(tt.texts), tt.pa)}
			pairs, m, err := BuildPairs([]ScoreLine{line}, 100, byteLen)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, pairs, approxFloats); d != "" {
				t.Errorf("wrong pairs (-want +got):\n%s", d)
			}
			for _, p := range pairs {
				if p.Chosen[1].Content == p.Rejected[1].Content {
					t.Errorf("pair with chosen == rejected: %q", p.Chosen[1].Content)
				}
			}
			if m.Dropped.Duplicate != tt.duplicate {
				t.Errorf("wrong duplicate count\ngot:  %d\nwant: %d", m.Dropped.Duplicate, tt.duplicate)
			}
		})
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
			_, _, err := BuildPairs([]ScoreLine{scoreLines[0], tt.line}, 10, byteLen)
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
	writeByteTokenizer(t, filepath.Join(dir, "tok"))
	// A response of k bytes to "qN" is 22+k tokens (see
	// TestPairsStageTokenizer): max_len 27 keeps at most 5 bytes, as
	// byteLen with 5 does.
	st, diags := decodePairsHCL(t, "scores = \"scored\"\nmax_len = 27\ntokenizer = \"tok\"\n")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got, want := st.Inputs(), []string{"scored", "tok"}; !cmp.Equal(got, want) {
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
	want := wantMetrics
	want.MaxLen = 27
	if d := cmp.Diff(want, m, approxFloats); d != "" {
		t.Errorf("wrong metrics.json (-want +got):\n%s", d)
	}
	if !strings.Contains(log.String(), "3 of 7 prompts gave a pair") {
		t.Errorf("wrong log\ngot:  %q\nwant: …3 of 7 prompts gave a pair…", log.String())
	}
	entries, _ := os.ReadDir(out)
	if len(entries) != 2 {
		t.Errorf("wrong output files\ngot:  %v\nwant: [%s %s]", entries, MetricsFile, PairsFile)
	}
}

func TestPairsStageDefaultMaxLen(t *testing.T) {
	st, diags := decodePairsHCL(t, "scores = \"x\"\ntokenizer = \"t\"\n")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got := st.(*pairsStage).maxLen; got != DefaultMaxLen {
		t.Errorf("wrong max_len\ngot:  %#v\nwant: %#v", got, DefaultMaxLen)
	}
}

func TestPairsStageRunErrors(t *testing.T) {
	dir := t.TempDir()
	st, _ := decodePairsHCL(t, "scores = \"missing\"\ntokenizer = \"tok\"\n")
	err := st.Run(context.Background(), &engine.RunContext{Dir: dir, Out: t.TempDir(), Log: io.Discard})
	if want := filepath.Join(dir, "missing", ScoresFile); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("wrong error\ngot:  %v\nwant: …%s…", err, want)
	}
	if err := os.WriteFile(filepath.Join(dir, ScoresFile), []byte(`{"prompt": "p", "candidates": []}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeByteTokenizer(t, filepath.Join(dir, "tok"))
	st, _ = decodePairsHCL(t, "scores = \".\"\ntokenizer = \"tok\"\n")
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
		{"no tokenizer", "scores = \"s\"\n", "Missing tokenizer", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := tt.src
			if tt.name != "no tokenizer" && !strings.Contains(src, "tokenizer") {
				src += "tokenizer = \"t\"\n"
			}
			_, diags := decodePairsHCL(t, src)
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

// writeByteTokenizer writes a byte-level tokenizer without merges (one
// token per byte, one per ChatML marker) as dir/tokenizer.json; without a
// tokenizer_config.json the chat template is ChatML.
func writeByteTokenizer(t *testing.T, dir string) {
	t.Helper()
	tj, err := tokenizer.Train([]string{"ab"}, tokenizer.TrainOptions{VocabSize: 259})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), tj, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPairsStageTokenizer counts lengths with a byte-level tokenizer
// without merges: one token per byte, one per ChatML marker. For the prompt
// "q" a response of k bytes is 21+k tokens (the conversation rendered and
// stripped as RLRR's data_processing does: "user\nq" 6, "\n" once between
// the turns, "assistant\n" 10, four markers; the final "\n" stripped), so
// max_len 23 keeps "a" and "ab" and drops "abcd", where counting words
// would keep all three.
func TestPairsStageTokenizer(t *testing.T) {
	dir := t.TempDir()
	writeByteTokenizer(t, dir)
	line := RougeScoreLine("q", "ab", textLines("a", "abcd", "ab"))
	if err := WriteJSONL(filepath.Join(dir, ScoresFile), []ScoreLine{line}); err != nil {
		t.Fatal(err)
	}
	// An absolute path, as an upstream stage's folder in the cache is: only
	// its base name may reach metrics.json, or the OutputID would depend on
	// where the cache lives.
	tokPath := filepath.Join(dir, "tokenizer.json")
	st, diags := decodePairsHCL(t, "scores = \".\"\nmax_len = 23\ntokenizer = \""+tokPath+"\"\n")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got, want := st.Inputs(), []string{".", tokPath}; !cmp.Equal(got, want) {
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
	want := PairsMetrics{Prompts: 1, Candidates: 3, Pairs: 1, MaxLen: 23, TokenCounter: "tokenizer tokenizer.json",
		// "a" is scored over all its comparisons, "abcd" (dropped later) included:
		// it ties "abcd" (0.5 each order) and loses to "ab" (0): 0.25.
		Dropped: DroppedCounts{TooLong: 1}, Scores: ScoreStatistics{MeanChosen: 1, MeanRejected: 0.25}}
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
