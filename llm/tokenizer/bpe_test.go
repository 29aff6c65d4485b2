package tokenizer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestMergeHeapEqualsSmall checks the two merge loops against each other on
// long words from the real Qwen2.5 vocabulary (mergeHeap serves words longer
// than 48 bytes, so the goldens exercise it only a little).
func TestMergeHeapEqualsSmall(t *testing.T) {
	tok := loadReal(t, "qwen2_5")
	words := []string{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "abababababababab"}
	r := rand.New(rand.NewPCG(3, 4))
	parts := []string{"the", "ing", "a", "e", "中", "😀", "1", "ss", "tion", "x"}
	for range 200 {
		var b strings.Builder
		for range 1 + r.IntN(40) {
			b.WriteString(parts[r.IntN(len(parts))])
		}
		words = append(words, b.String())
	}
	for _, w := range words {
		syms := func() []int32 {
			var s []int32
			for i := 0; i < len(w); i++ {
				s = append(s, tok.byteIDs[w[i]])
			}
			return s
		}
		small, big := tok.mergeSmall(syms()), tok.mergeHeap(syms())
		if !slices.Equal(small, big) {
			t.Errorf("wrong heap merge of %q\ngot:  %#v\nwant: %#v", w, big, small)
		}
	}
}

func TestLossyUTF8(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"abc", "abc"},
		{"\xe4\xb8", "\ufffd"},                 // truncated 3-byte sequence: one U+FFFD
		{"\xe4\xb8A", "\ufffdA"},               // cut short by ASCII
		{"\xff\xfe", "\ufffd\ufffd"},           // two invalid bytes
		{"\xed\xa0\x80", "\ufffd\ufffd\ufffd"}, // surrogate: ED then two stray continuations
		{"\xf0\x9f\x98", "\ufffd"},             // emoji cut short
		{"\xc0\xaf", "\ufffd\ufffd"},           // overlong
		{"\xf0\x9f\x98\x80", "😀"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := lossyUTF8(tc.in); got != tc.want {
				t.Errorf("wrong text\ngot:  %q\nwant: %q", got, tc.want)
			}
		})
	}
}

func TestIncompleteSuffix(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"a", 0}, {"a\xe4", 1}, {"a\xe4\xb8", 2}, {"\xe4\xb8\xad", 0}, {"\xf0\x9f\x98", 3},
		{"\xff", 0}, {"\xed\xa0", 0}, {"\xb8", 0}, {"", 0},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := incompleteSuffix([]byte(tc.in)); got != tc.want {
				t.Errorf("wrong length held back\ngot:  %#v\nwant: %#v", got, tc.want)
			}
		})
	}
}

func TestAddedMatcherLeftmostLongest(t *testing.T) {
	m := newAddedMatcher([]addedToken{{"<a>", 1}, {"<a><b>", 2}, {"<b>", 3}, {"<", 4}, {"<a>", 5}})
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"x<a><b><a>y<b", []string{"x", "#2", "#1", "y", "#4", "b"}},
		{"<a><b", []string{"#1", "#4", "b"}},
		{"<a", []string{"#4", "a"}},
		{"plain", []string{"plain"}},
		{"", nil},
		{"<<b>>", []string{"#4", "#3", ">"}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			var got []string
			m.split(tc.in, func(s string) { got = append(got, s) }, func(id int) { got = append(got, "#"+itoa(id)) })
			if !slices.Equal(got, tc.want) {
				t.Errorf("wrong split\ngot:  %#v\nwant: %#v", got, tc.want)
			}
		})
	}
}
