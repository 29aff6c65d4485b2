package stages

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func logp(p float64) *float64 { v := math.Log(p); return &v }

func TestLabelProb(t *testing.T) {
	tests := []struct {
		name string
		a, b *float64
		want float64
	}{
		{"softmax", logp(0.6), logp(0.2), 0.75},
		{"softmax b ahead", logp(0.1), logp(0.3), 0.25},
		{"equal", logp(0.4), logp(0.4), 0.5},
		{"b missing", logp(0.01), nil, 1},
		{"a missing", nil, logp(0.01), 0},
		{"both missing", nil, nil, 0.5},
		{"far apart no overflow", f64ptr(0), f64ptr(-2000), 1},
		{"far apart other way", f64ptr(-2000), f64ptr(0), 0},
		{"both impossible", f64ptr(math.Inf(-1)), f64ptr(math.Inf(-1)), 0.5},
		{"a impossible", f64ptr(math.Inf(-1)), f64ptr(-3), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := LabelProb(tt.a, tt.b)
			if math.Abs(got-tt.want) > 1e-12 || math.IsNaN(got) {
				t.Errorf("wrong p(a)\ngot:  %#v\nwant: %#v", got, tt.want)
			}
		})
	}
}

func f64ptr(v float64) *float64 { return &v }

// cmp builds a comparison whose p_a is consistent with its log-probs.
func judged(i, j int, a, b *float64) Comparison { return NewComparison(i, j, a, b) }

// handWorked is three candidates judged in all six orders. By hand:
// c0 = (0.8 + 0.6 + 0 + 0)/4 = 0.35, c1 = (0.2 + 0.4 + 0.5 + 0.7)/4 = 0.45,
// c2 = (1 + 1 + 0.5 + 0.3)/4 = 0.7.
var handWorked = []Comparison{
	judged(0, 1, logp(0.8), logp(0.2)), // c0 +0.8, c1 +0.2
	judged(1, 0, logp(0.4), logp(0.6)), // c1 +0.4, c0 +0.6
	judged(0, 2, nil, logp(0.9)),       // "a" missing: c0 +0, c2 +1
	judged(2, 0, logp(0.9), nil),       // "b" missing: c2 +1, c0 +0
	judged(1, 2, nil, nil),             // both missing: 0.5 each
	judged(2, 1, logp(0.3), logp(0.7)), // c2 +0.3, c1 +0.7
}

func TestCandidateScores(t *testing.T) {
	tests := []struct {
		name  string
		n     int
		comps []Comparison
		keep  []bool
		want  []float64
	}{
		{"hand worked", 3, handWorked, nil, []float64{0.35, 0.45, 0.7}},
		// Dropping c1 leaves (0,2) and (2,0): c0 = 0, c2 = 1.
		{"dropped candidate", 3, handWorked, []bool{true, false, true}, []float64{0, math.NaN(), 1}},
		{"no comparisons", 2, nil, nil, []float64{math.NaN(), math.NaN()}},
		{"ties", 2, []Comparison{judged(0, 1, nil, nil), judged(1, 0, logp(0.5), logp(0.5))}, nil, []float64{0.5, 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CandidateScores(tt.n, tt.comps, tt.keep)
			if err != nil {
				t.Fatal(err)
			}
			if !scoresEqual(got, tt.want, 1e-12) {
				t.Errorf("wrong scores\ngot:  %#v\nwant: %#v", got, tt.want)
			}
		})
	}
}

func TestCandidateScoresErrors(t *testing.T) {
	tests := []struct {
		name  string
		comps []Comparison
		want  string
	}{
		{"out of range", []Comparison{judged(0, 2, nil, nil)}, "comparison 0 is of candidates 0 and 2 but there are 2"},
		{"negative", []Comparison{judged(-1, 0, nil, nil)}, "there are 2 candidates"},
		{"self", []Comparison{judged(1, 1, nil, nil)}, "compares candidate 1 with itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CandidateScores(2, tt.comps, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("wrong error\ngot:  %v\nwant: …%s…", err, tt.want)
			}
		})
	}
}

func TestChooseExtremes(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name                    string
		scores                  []float64
		keep                    []bool
		wantChosen, wantRejectd int
		wantOK                  bool
	}{
		{"hand worked", []float64{0.35, 0.45, 0.7}, nil, 2, 0, true},
		{"ties go to first index", []float64{0.2, 0.7, 0.2, 0.7}, nil, 1, 0, true},
		{"all tied", []float64{0.5, 0.5, 0.5}, nil, -1, -1, false},
		{"one left", []float64{0.1, 0.9}, []bool{false, true}, -1, -1, false},
		{"nan ignored", []float64{nan, 0.3, 0.6}, nil, 2, 1, true},
		{"kept tie with dropped best", []float64{0.4, 0.9, 0.4}, []bool{true, false, true}, -1, -1, false},
		{"empty", nil, nil, -1, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, r, ok := ChooseExtremes(tt.scores, tt.keep)
			if c != tt.wantChosen || r != tt.wantRejectd || ok != tt.wantOK {
				t.Errorf("wrong choice\ngot:  %#v\nwant: %#v", []any{c, r, ok}, []any{tt.wantChosen, tt.wantRejectd, tt.wantOK})
			}
		})
	}
}

func TestRenderJudge(t *testing.T) {
	tests := []struct {
		name     string
		tmpl     string
		ref      string
		want     string
		wantErrs []string
	}{
		{
			name: "all slots",
			tmpl: "I={INSTRUCTION} R={REFERENCE} A={OUTPUT_1} B={OUTPUT_2}",
			ref:  "ref",
			want: "I=inst R=ref A=one B=two",
		},
		{
			name: "no reference slot ignores reference",
			tmpl: "{INSTRUCTION}|{OUTPUT_1}|{OUTPUT_2}|{OUTPUT_1}",
			ref:  "ref",
			want: "inst|one|two|one",
		},
		{
			name: "other braces untouched",
			tmpl: `{"x": 1} {lower} {INSTRUCTION}{OUTPUT_1}{OUTPUT_2}`,
			want: `{"x": 1} {lower} instonetwo`,
		},
		{
			name:     "unknown slot",
			tmpl:     "{INSTRUCTION} {OUTPUT_1} {OUTPUT_2} {OUTPUT_3} {QUESTION}",
			wantErrs: []string{"unknown slot {OUTPUT_3}, {QUESTION}"},
		},
		{
			name:     "missing slots",
			tmpl:     "{INSTRUCTION} {OUTPUT_2}",
			wantErrs: []string{"lacks slot {OUTPUT_1}"},
		},
		{
			name:     "reference slot without reference",
			tmpl:     "{INSTRUCTION} {REFERENCE} {OUTPUT_1} {OUTPUT_2}",
			wantErrs: []string{"{REFERENCE} slot but no reference was given"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RenderJudge(tt.tmpl, "inst", tt.ref, "one", "two")
			if tt.wantErrs != nil {
				if err == nil {
					t.Fatalf("no error; rendered %q", got)
				}
				for _, w := range tt.wantErrs {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("wrong error\ngot:  %v\nwant: …%s…", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("wrong rendering\ngot:  %#v\nwant: %#v", got, tt.want)
			}
		})
	}
}

// TestRenderJudgeOnePass checks that slot names inside the filled-in texts
// are not replaced again.
func TestRenderJudgeOnePass(t *testing.T) {
	got, err := RenderJudge("{INSTRUCTION}/{OUTPUT_1}/{OUTPUT_2}", "say {OUTPUT_2}", "", "{INSTRUCTION}", "x")
	if err != nil {
		t.Fatal(err)
	}
	if want := "say {OUTPUT_2}/{INSTRUCTION}/x"; got != want {
		t.Errorf("wrong rendering\ngot:  %#v\nwant: %#v", got, want)
	}
}

// TestPromptTemplates parses the committed judge templates as the paper's
// code splits them: a system turn and a user turn holding every slot, the
// reference-guided ones the reference, and filled in they show every text.
func TestPromptTemplates(t *testing.T) {
	tests := []struct {
		file    string
		withRef bool
	}{
		{"base.txt", false},
		{"refeval.txt", true},
		{"refmatch.txt", true},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("..", "prompts", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			jt, err := ParseJudgeTemplate(string(b))
			if err != nil {
				t.Fatal(err)
			}
			if len(jt.Messages) != 2 || jt.Messages[0].Role != "system" || jt.Messages[1].Role != "user" {
				t.Fatalf("not a system turn and a user turn: %+v", jt.Messages)
			}
			if jt.Reference != tt.withRef {
				t.Errorf("wrong reference use\ngot:  %#v\nwant: %#v", jt.Reference, tt.withRef)
			}
			msgs, err := jt.Fill("INST-TEXT", "REF-TEXT", "OUT-ONE", "OUT-TWO")
			if err != nil {
				t.Fatal(err)
			}
			got := msgs[1].Content
			for _, want := range []string{"INST-TEXT", "OUT-ONE", "OUT-TWO", `Output (a)`, `Output (b)`} {
				if !strings.Contains(got, want) {
					t.Errorf("user turn lacks %q", want)
				}
			}
			if !strings.Contains(msgs[0].Content, `"Output (a)"`) {
				t.Errorf("system turn does not give the answer format")
			}
			if strings.Index(got, "OUT-ONE") > strings.Index(got, "OUT-TWO") {
				t.Errorf("output 1 must come before output 2")
			}
		})
	}
}

func scoresEqual(a, b []float64, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.IsNaN(a[i]) || math.IsNaN(b[i]) {
			if math.IsNaN(a[i]) != math.IsNaN(b[i]) {
				return false
			}
			continue
		}
		if math.Abs(a[i]-b[i]) > tol {
			return false
		}
	}
	return true
}

func TestOrderedPairs(t *testing.T) {
	tests := []struct {
		n    int
		want [][2]int
	}{
		{0, nil},
		{1, nil},
		{2, [][2]int{{0, 1}, {1, 0}}},
		{3, [][2]int{{0, 1}, {0, 2}, {1, 0}, {1, 2}, {2, 0}, {2, 1}}},
	}
	for _, tt := range tests {
		got := OrderedPairs(tt.n)
		if !slices.Equal(got, tt.want) {
			t.Errorf("wrong pairs of %d\ngot:  %#v\nwant: %#v", tt.n, got, tt.want)
		}
	}
}
