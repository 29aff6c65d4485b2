package tokenizer

import (
	"sort"
	"strings"
)

// An addedToken is a token of added_tokens: matched in text before any
// normalization or pre-tokenization, and never split.
type addedToken struct {
	content string
	id      int
}

// An addedMatcher finds added tokens in text, leftmost-longest as the Rust
// library's Aho-Corasick automaton does.
type addedMatcher struct {
	byFirst [256][]addedToken // by first byte, longest first
}

func newAddedMatcher(toks []addedToken) *addedMatcher {
	if len(toks) == 0 {
		return nil
	}
	m := &addedMatcher{}
	for _, t := range toks {
		m.byFirst[t.content[0]] = append(m.byFirst[t.content[0]], t)
	}
	for i := range m.byFirst {
		sort.SliceStable(m.byFirst[i], func(a, b int) bool {
			return len(m.byFirst[i][a].content) > len(m.byFirst[i][b].content)
		})
	}
	return m
}

// split calls text for each stretch of s without added tokens and token for
// each added token, in order.
func (m *addedMatcher) split(s string, text func(string), token func(id int)) {
	if m == nil {
		if s != "" {
			text(s)
		}
		return
	}
	prev := 0
	for i := 0; i < len(s); i++ {
		for _, t := range m.byFirst[s[i]] {
			if strings.HasPrefix(s[i:], t.content) {
				if i > prev {
					text(s[prev:i])
				}
				token(t.id)
				prev = i + len(t.content)
				i = prev - 1
				break
			}
		}
	}
	if prev < len(s) {
		text(s[prev:])
	}
}
