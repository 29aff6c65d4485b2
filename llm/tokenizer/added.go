package tokenizer

// An addedToken is a token of added_tokens: matched in text before any
// normalization or pre-tokenization, and never split.
type addedToken struct {
	content string
	id      int
}

// An addedMatcher finds added tokens in text, leftmost-longest as the Rust
// library's Aho-Corasick automaton does, with a byte trie: at each position
// it follows the trie as far as the text allows and keeps the longest token
// seen, so a text full of "<|" costs the length of the tokens, not their number.
type addedMatcher struct {
	root  [256]int32 // child of the root for each byte; 0: none
	nodes []trieNode // nodes[0] is unused so that 0 can mean "none"
}

type trieNode struct {
	next map[byte]int32
	id   int // the token ending here, -1 if none
}

func newAddedMatcher(toks []addedToken) *addedMatcher {
	if len(toks) == 0 {
		return nil
	}
	m := &addedMatcher{nodes: make([]trieNode, 1)}
	for _, t := range toks {
		n := m.child(0, t.content[0])
		for i := 1; i < len(t.content); i++ {
			n = m.child(n, t.content[i])
		}
		if m.nodes[n].id < 0 {
			m.nodes[n].id = t.id // the first of equal contents wins
		}
	}
	return m
}

// child returns the child of node n (0: the root) for byte c, adding it if missing.
func (m *addedMatcher) child(n int32, c byte) int32 {
	if n == 0 {
		if m.root[c] == 0 {
			m.root[c] = m.add()
		}
		return m.root[c]
	}
	if next, ok := m.nodes[n].next[c]; ok {
		return next
	}
	k := m.add()
	if m.nodes[n].next == nil {
		m.nodes[n].next = map[byte]int32{}
	}
	m.nodes[n].next[c] = k
	return k
}

func (m *addedMatcher) add() int32 {
	m.nodes = append(m.nodes, trieNode{id: -1})
	return int32(len(m.nodes) - 1)
}

// longest returns the id and length of the longest added token at the start
// of s, and length 0 if none.
func (m *addedMatcher) longest(s string) (id, n int) {
	node := m.root[s[0]]
	for i := 1; node != 0; i++ {
		if tid := m.nodes[node].id; tid >= 0 {
			id, n = tid, i
		}
		if i == len(s) {
			break
		}
		node = m.nodes[node].next[s[i]]
	}
	return id, n
}

// split calls text for each stretch of s without added tokens and token for
// each added token, in order.
func (m *addedMatcher) split(s string, text func(string), token func(id int)) {
	m.splitAt(s, func(seg string, _ int) { text(seg) }, token)
}

// splitAt is split that also gives each stretch's byte offset in s.
func (m *addedMatcher) splitAt(s string, text func(seg string, start int), token func(id int)) {
	if m == nil {
		if s != "" {
			text(s, 0)
		}
		return
	}
	prev := 0
	for i := 0; i < len(s); {
		if m.root[s[i]] == 0 {
			i++
			continue
		}
		id, n := m.longest(s[i:])
		if n == 0 {
			i++
			continue
		}
		if i > prev {
			text(s[prev:i], prev)
		}
		token(id)
		i += n
		prev = i
	}
	if prev < len(s) {
		text(s[prev:], prev)
	}
}
