package tokenizer

import (
	"fmt"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// regexSplitter returns the Split behaviour "Isolated" for a regex: every
// match is a piece and so is every gap between matches. Known regexes run on
// their scanners; others on regexp2, which supports the lookarounds the files use.
func regexSplitter(pattern string) (splitFunc, error) {
	if f, ok := knownScanners[pattern]; ok {
		return f, nil
	}
	re, err := compileRegexp2(pattern)
	if err != nil {
		return nil, err
	}
	return func(s string, emit func(string)) { splitRegexp2(re, s, emit) }, nil
}

func compileRegexp2(pattern string) (*regexp2.Regexp, error) {
	re, err := regexp2.Compile(pattern, regexp2.None)
	if err != nil {
		return nil, fmt.Errorf("pre-tokenizer regex %q: %w", pattern, err)
	}
	return re, nil
}

// splitRegexp2 splits s at the matches of re, keeping matches and gaps.
func splitRegexp2(re *regexp2.Regexp, s string, emit func(string)) {
	prev := 0
	splitRegexp2Matches(re, s, func(start, end int) {
		if start > prev {
			emit(s[prev:start])
		}
		emit(s[start:end])
		prev = end
	})
	if prev < len(s) {
		emit(s[prev:])
	}
}

// splitRegexp2Matches calls match with the byte offsets of each non-empty
// match of re in s. regexp2 reports rune offsets; invalid UTF-8 bytes count
// as one rune each, as they do when regexp2 converts the string.
func splitRegexp2Matches(re *regexp2.Regexp, s string, match func(start, end int)) {
	// byteAt[k] is the byte offset of rune k.
	byteAt := make([]int, 0, len(s)+1)
	for i := 0; i < len(s); {
		byteAt = append(byteAt, i)
		_, w := utf8.DecodeRuneInString(s[i:])
		i += w
	}
	byteAt = append(byteAt, len(s))
	m, err := re.FindStringMatch(s)
	for err == nil && m != nil {
		if m.Length > 0 {
			match(byteAt[m.Index], byteAt[m.Index+m.Length])
		}
		m, err = re.FindNextMatch(m)
	}
}
