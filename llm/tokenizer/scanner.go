package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// The three pre-tokenizer regexes of the known files. They use a lookahead,
// which Go's regexp lacks; regexp2 has it but is slow, so each runs on a
// hand-written scanner that follows the regex's leftmost-first backtracking
// alternative by alternative. scanner_test.go checks them against regexp2.
const (
	// patternQwen2 is Qwen2/Qwen2.5's Split regex (single digits).
	patternQwen2 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// patternLlama3 is Llama-3's Split regex (digits in groups of up to three).
	patternLlama3 = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// patternGPT2 is the regex of the ByteLevel pre-tokenizer with use_regex.
	patternGPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
)

// A splitFunc cuts s into consecutive non-empty pieces and calls emit on each.
type splitFunc func(s string, emit func(string))

// knownScanners maps a known regex to its scanner.
var knownScanners = map[string]splitFunc{
	patternQwen2:  func(s string, emit func(string)) { scanLlamaFamily(s, 1, emit) },
	patternLlama3: func(s string, emit func(string)) { scanLlamaFamily(s, 3, emit) },
	patternGPT2:   scanGPT2,
}

// Character classes of the regexes: \s is Unicode White_Space (Oniguruma's and
// Go's unicode.IsSpace agree), \p{L} letters, \p{N} numbers. Invalid UTF-8
// bytes decode as U+FFFD, a symbol, as they do in regexp2.
const (
	clOther = iota
	clSpace
	clLetter
	clNumber
)

var asciiClass [128]uint8

func init() {
	for c := 0; c < 128; c++ {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			asciiClass[c] = clLetter
		case c >= '0' && c <= '9':
			asciiClass[c] = clNumber
		case c == ' ', c >= '\t' && c <= '\r':
			asciiClass[c] = clSpace
		}
	}
}

// classAt returns the class and width of the rune at s[i:].
func classAt(s string, i int) (uint8, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return asciiClass[c], 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	switch {
	case unicode.IsLetter(r):
		return clLetter, w
	case unicode.IsNumber(r):
		return clNumber, w
	case unicode.IsSpace(r):
		return clSpace, w
	}
	return clOther, w
}

// runOf returns the end of the run of class cl that starts at i.
func runOf(s string, i int, cl uint8) int {
	for i < len(s) {
		c, w := classAt(s, i)
		if c != cl {
			break
		}
		i += w
	}
	return i
}

// contraction returns the length of 's|'t|'re|'ve|'m|'ll|'d at s[i:] (s[i] is
// '\”), or 0. With fold, ASCII case is ignored: Oniguruma's (?i) does not
// fold U+017F (ſ) to s here, checked against the Rust library.
func contraction(s string, i int, fold bool) int {
	low := func(k int) byte {
		if k >= len(s) {
			return 0
		}
		c := s[k]
		if fold && c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		return c
	}
	switch low(i + 1) {
	case 's', 't', 'm', 'd':
		return 2
	case 'r', 'v':
		if low(i+2) == 'e' {
			return 3
		}
	case 'l':
		if low(i+2) == 'l' {
			return 3
		}
	}
	return 0
}

// spaceEnd matches \s*[\r\n]+ (if crlf), then \s+(?!\S), then \s+ at a
// whitespace rune at i, and returns the end of the match.
func spaceEnd(s string, i int, crlf bool) int {
	j, last, lastNL := i, i, -1
	for j < len(s) {
		c, w := classAt(s, j)
		if c != clSpace {
			break
		}
		if s[j] == '\r' || s[j] == '\n' {
			lastNL = j
		}
		last = j
		j += w
	}
	if crlf && lastNL >= 0 {
		return lastNL + 1 // \s* backtracks to the last newline, [\r\n]+ takes it
	}
	if j == len(s) || last == i {
		return j // (?!\S) holds at the end; a single rune falls to \s+
	}
	return last // \s+ gives back one rune so (?!\S) sees whitespace
}

// scanLlamaFamily splits s by patternQwen2 (maxDigits 1) or patternLlama3
// (maxDigits 3).
func scanLlamaFamily(s string, maxDigits int, emit func(string)) {
	for i := 0; i < len(s); {
		j := i
		c, w := classAt(s, i)
		switch {
		case s[i] == '\'' && contraction(s, i, true) > 0:
			j = i + contraction(s, i, true)
		case c == clLetter:
			j = runOf(s, i, clLetter)
		case c != clNumber && s[i] != '\r' && s[i] != '\n' && i+w < len(s) && classOf(s, i+w) == clLetter:
			j = runOf(s, i+w, clLetter)
		case c == clNumber:
			j = i + w
			for n := 1; n < maxDigits && j < len(s); n++ {
				c2, w2 := classAt(s, j)
				if c2 != clNumber {
					break
				}
				j += w2
			}
		case c == clOther || (s[i] == ' ' && i+1 < len(s) && classOf(s, i+1) == clOther):
			j = runOf(s, i+w, clOther)
			for j < len(s) && (s[j] == '\r' || s[j] == '\n') {
				j++
			}
		default: // whitespace
			j = spaceEnd(s, i, true)
		}
		emit(s[i:j])
		i = j
	}
}

// scanGPT2 splits s by patternGPT2.
func scanGPT2(s string, emit func(string)) {
	for i := 0; i < len(s); {
		j := i
		c, w := classAt(s, i)
		if s[i] == '\'' && contraction(s, i, false) > 0 {
			j = i + contraction(s, i, false)
		} else if c == clSpace {
			start := i
			if s[i] == ' ' && i+1 < len(s) {
				if c2 := classOf(s, i+1); c2 != clSpace {
					c, start = c2, i+1
				}
			}
			if start == i {
				j = spaceEnd(s, i, false)
			} else {
				j = runOf(s, start, c)
			}
		} else {
			j = runOf(s, i+w, c)
		}
		emit(s[i:j])
		i = j
	}
}

// classOf returns the class of the rune at s[i:].
func classOf(s string, i int) uint8 {
	c, _ := classAt(s, i)
	return c
}
