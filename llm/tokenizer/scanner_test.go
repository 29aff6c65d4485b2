package tokenizer

import (
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// scannerInputs returns the golden strings and random strings built from
// characters of every class the regexes tell apart.
func scannerInputs(t *testing.T) []string {
	var in []string
	for _, name := range []string{"qwen2_5", "llama3_2", "gpt2"} {
		for _, e := range readGolden(t, filepath.Join("testdata", name+".golden.json")).Encodings {
			in = append(in, e.Text)
		}
	}
	alphabet := []string{" ", " ", "\t", "\n", "\r", "\u00a0", "\u3000", "\u2028", "\u0085", "\v",
		"a", "Z", "é", "中", "ß", "ǅ", "\u0301", "1", "٣", "½", "Ⅻ", "'", "'", "s", "S", "t", "re", "LL", "ve", "M", "d", "ſ",
		"!", ".", "😀", "\u200d", "\xff", "\xe4\xb8", "_", "-", "<", "|"}
	r := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		var b strings.Builder
		for range 1 + r.IntN(12) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		in = append(in, b.String())
	}
	return in
}

// TestScannersMatchRegexp2 proves the hand-written scanners equal to the
// regexes they stand for, as regexp2 runs them.
func TestScannersMatchRegexp2(t *testing.T) {
	inputs := scannerInputs(t)
	for _, tc := range []struct {
		name, pattern string
	}{
		{"qwen2", patternQwen2},
		{"llama3", patternLlama3},
		{"gpt2", patternGPT2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			re, err := compileRegexp2(tc.pattern)
			if err != nil {
				t.Fatal(err)
			}
			scan := knownScanners[tc.pattern]
			bad := 0
			for _, s := range inputs {
				var got, want []string
				scan(s, func(p string) { got = append(got, p) })
				splitRegexp2(re, s, func(p string) { want = append(want, p) })
				if !slices.Equal(got, want) && bad < 10 {
					bad++
					t.Errorf("wrong pieces of %q\ngot:  %#v\nwant: %#v", s, got, want)
				}
			}
		})
	}
}

// TestRegexp2Fallback runs a tokenizer whose regex has no scanner.
func TestRegexp2Fallback(t *testing.T) {
	split, err := regexSplitter(`\d+|[a-z]+(?=!)`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	split("ab12cd!e", func(p string) { got = append(got, p) })
	if want := []string{"ab", "12", "cd", "!e"}; !slices.Equal(got, want) {
		t.Errorf("wrong pieces\ngot:  %#v\nwant: %#v", got, want)
	}
	if _, err := regexSplitter(`(unclosed`); err == nil {
		t.Errorf("a bad regex gave no error")
	}
}
