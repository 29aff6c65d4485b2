package tokenizer

import (
	"fmt"
	"slices"
	"strings"
)

// splitBehavior is what Split does with the matches of its pattern, as the
// Rust library's SplitDelimiterBehavior.
type splitBehavior int

const (
	splitRemoved splitBehavior = iota
	splitIsolated
	splitMergedWithPrevious
	splitMergedWithNext
	splitContiguous
)

func parseBehavior(s string) (splitBehavior, error) {
	switch s {
	case "Removed":
		return splitRemoved, nil
	case "Isolated":
		return splitIsolated, nil
	case "MergedWithPrevious":
		return splitMergedWithPrevious, nil
	case "MergedWithNext":
		return splitMergedWithNext, nil
	case "Contiguous":
		return splitContiguous, nil
	}
	return 0, fmt.Errorf("split behavior %q is not supported", s)
}

// A span is a stretch of a string, a match of the pattern or a gap.
type span struct {
	start, end int
	match      bool
}

// splitSpans cuts s at the given spans (which cover s in order, as the Rust
// library's Pattern::find_matches returns them) according to behavior, and
// emits the non-empty pieces. It follows the Rust code step by step.
func splitSpans(s string, spans []span, behavior splitBehavior, invert bool, emit func(string)) {
	if invert {
		for i := range spans {
			spans[i].match = !spans[i].match
		}
	}
	type piece struct {
		start, end int
		remove     bool
	}
	var out []piece
	switch behavior {
	case splitIsolated:
		for _, sp := range spans {
			out = append(out, piece{sp.start, sp.end, false})
		}
	case splitRemoved:
		for _, sp := range spans {
			out = append(out, piece{sp.start, sp.end, sp.match})
		}
	case splitContiguous:
		prev := false
		for _, sp := range spans {
			if sp.match == prev && len(out) > 0 {
				out[len(out)-1].end = sp.end
			} else {
				out = append(out, piece{sp.start, sp.end, false})
			}
			prev = sp.match
		}
	case splitMergedWithPrevious:
		prev := false
		for _, sp := range spans {
			if sp.match && !prev && len(out) > 0 {
				out[len(out)-1].end = sp.end
			} else {
				out = append(out, piece{sp.start, sp.end, false})
			}
			prev = sp.match
		}
	case splitMergedWithNext:
		prev := false
		for i := len(spans) - 1; i >= 0; i-- {
			sp := spans[i]
			if sp.match && !prev && len(out) > 0 {
				out[len(out)-1].start = sp.start
			} else {
				out = append(out, piece{sp.start, sp.end, false})
			}
			prev = sp.match
		}
		slices.Reverse(out)
	}
	for _, p := range out {
		if !p.remove && p.end > p.start {
			emit(s[p.start:p.end])
		}
	}
}

// literalSpans returns the matches of the literal pat in s and the gaps
// between them, covering s.
func literalSpans(s, pat string) []span {
	var spans []span
	prev := 0
	for i := 0; pat != "" && i <= len(s)-len(pat); {
		k := strings.Index(s[i:], pat)
		if k < 0 {
			break
		}
		start := i + k
		if start > prev {
			spans = append(spans, span{prev, start, false})
		}
		spans = append(spans, span{start, start + len(pat), true})
		prev = start + len(pat)
		i = prev
	}
	if prev < len(s) || len(s) == 0 {
		spans = append(spans, span{prev, len(s), false})
	}
	return spans
}

// literalSplitter is Split with a {"String": pat} pattern.
func literalSplitter(pat string, behavior splitBehavior, invert bool) splitFunc {
	return func(s string, emit func(string)) {
		splitSpans(s, literalSpans(s, pat), behavior, invert, emit)
	}
}

// metaspace is the Metaspace pre-tokenizer: spaces become the replacement
// (▁), a replacement is put in front of the text by prepend_scheme, and with
// split the text is cut before every replacement.
type metaspace struct {
	repl    string
	prepend string // "always", "first" or "never"
	split   bool
}

// apply runs the pre-tokenizer on s; first says whether s starts the input
// (the Rust library's offsets_original().0 == 0), for prepend_scheme "first".
func (m *metaspace) apply(s string, first bool, emit func(string)) {
	s = strings.ReplaceAll(s, " ", m.repl)
	if (m.prepend == "always" || m.prepend == "first" && first) && !strings.HasPrefix(s, m.repl) {
		s = m.repl + s
	}
	if !m.split {
		if s != "" {
			emit(s)
		}
		return
	}
	splitSpans(s, literalSpans(s, m.repl), splitMergedWithNext, false, emit)
}
