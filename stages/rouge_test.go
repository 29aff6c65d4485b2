package stages

import (
	"math"
	"slices"
	"testing"
)

func TestRougeTokens(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"The Cat sat.", []string{"the", "cat", "sat"}},
		{"Don't stop!", []string{"don", "t", "stop"}},
		{"3.5 km/h", []string{"3", "5", "km", "h"}},
		{"café naïve", []string{"caf", "na", "ve"}},
		{"  \t\n", nil},
		{"snake_case-word", []string{"snake", "case", "word"}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got := RougeTokens(tt.text)
			if !slices.Equal(got, tt.want) {
				t.Errorf("wrong tokens\ngot:  %#v\nwant: %#v", got, tt.want)
			}
		})
	}
}

func TestRougeL(t *testing.T) {
	tests := []struct {
		name, cand, ref string
		want            float64
	}{
		{"identical", "the cat sat", "the cat sat", 1},
		{"case and punctuation", "Paris.", "paris", 1},
		// LCS 6 of 7 candidate and 6 reference tokens: P = 6/7, R = 1, F = 12/13.
		{"extra word", "the cat was found under the bed", "the cat was under the bed", 12.0 / 13},
		// Lin (2004): LCS "police the gunman" = 3 of 4 and 4: F = 0.75.
		{"lin example 1", "police kill the gunman", "police killed the gunman", 0.75},
		// LCS "the gunman" = 2 of 4 and 4: F = 0.5.
		{"lin example 2", "the gunman kill police", "police killed the gunman", 0.5},
		// LCS 1 ("b" or "a") of 2 and 3: P = 1/2, R = 1/3, F = 2/5.
		{"order matters", "b a", "a b c", 0.4},
		{"no overlap", "yes", "no", 0},
		{"empty candidate", "", "paris", 0},
		{"empty reference", "paris", "...", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := RougeL(tt.cand, tt.ref)
			if math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("wrong ROUGE-L\ngot:  %#v\nwant: %#v", got, tt.want)
			}
		})
	}
}

func TestRougeJudge(t *testing.T) {
	tests := []struct {
		name, ref, a, b string
		wantPA          float64
	}{
		{"a closer", "The capital is Paris.", "Paris is the capital.", "London.", 1},
		{"b closer", "The capital is Paris.", "London.", "The capital is Paris", 0},
		{"tie", "The capital is Paris.", "Rome.", "Berlin.", 0.5},
		{"same text", "four", "four", "Four!", 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			la, lb := RougeJudge(tt.ref, tt.a, tt.b)
			if got := LabelProb(la, lb); got != tt.wantPA {
				t.Errorf("wrong p(a)\ngot:  %#v\nwant: %#v", got, tt.wantPA)
			}
		})
	}
}

func BenchmarkRougeL(b *testing.B) {
	cand := "The quick brown fox jumps over the lazy dog while the cat watches from the old wooden fence."
	ref := "A quick brown fox jumped over a lazy dog as the cat watched from the fence."
	for b.Loop() {
		RougeL(cand, ref)
	}
}

// TestRougeScoreLine scores three candidates against "The capital is
// Paris.": ROUGE-L 1 for the same text, 0.4 for "Paris" (LCS 1 of 1 and 4
// tokens: P = 1, R = 1/4) and 0 for "London".
func TestRougeScoreLine(t *testing.T) {
	ref := "The capital is Paris."
	cands := textLines("The capital is Paris.", "Paris", "London")
	line := RougeScoreLine("q", ref, cands)
	if len(line.Comparisons) != 6 {
		t.Fatalf("wrong comparison count\ngot:  %#v\nwant: %#v", len(line.Comparisons), 6)
	}
	scores, err := CandidateScores(3, line.Comparisons, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Candidate 0 wins all four of its comparisons, 1 wins two of four, 2 none.
	if want := []float64{1, 0.5, 0}; !scoresEqual(scores, want, 0) {
		t.Errorf("wrong scores\ngot:  %#v\nwant: %#v", scores, want)
	}
	pairs, _, err := BuildPairs([]ScoreLine{line}, DefaultMaxLen, byteLen)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 1 || pairs[0].Chosen[1].Content != "The capital is Paris." || pairs[0].Rejected[1].Content != "London" {
		t.Errorf("wrong pair\ngot:  %#v", pairs)
	}
}
