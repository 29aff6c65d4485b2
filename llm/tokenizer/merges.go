package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// mergeList is the "merges" array of a BPE model, in either of its forms:
// ["a b", ...] (older files) or [["a", "b"], ...] (tokenizers ≥ 0.20, which
// allows spaces in tokens). It is parsed by hand: encoding/json spends most of
// a load on the 100k–300k small entries otherwise.
type mergeList [][2]string

func (m *mergeList) UnmarshalJSON(data []byte) error {
	p := &jsonScanner{data: data}
	if !p.consume('[') {
		return fmt.Errorf("merges: want an array")
	}
	if p.consume(']') {
		return nil
	}
	for i := 0; ; i++ {
		var a, b string
		var err error
		switch p.peek() {
		case '"':
			var s string
			if s, err = p.str(); err != nil {
				return fmt.Errorf("merge %d: %w", i, err)
			}
			var ok bool
			if a, b, ok = strings.Cut(s, " "); !ok {
				return fmt.Errorf("merge %d %q is not two tokens separated by a space", i, s)
			}
		case '[':
			p.consume('[')
			if a, err = p.str(); err == nil && p.consume(',') {
				b, err = p.str()
			} else if err == nil {
				err = fmt.Errorf("want [\"a\", \"b\"]")
			}
			if err == nil && !p.consume(']') {
				err = fmt.Errorf("want [\"a\", \"b\"]")
			}
			if err != nil {
				return fmt.Errorf("merge %d: %w", i, err)
			}
		default:
			return fmt.Errorf("merge %d is neither \"a b\" nor [\"a\", \"b\"]", i)
		}
		*m = append(*m, [2]string{a, b})
		if p.consume(']') {
			return nil
		}
		if !p.consume(',') {
			return fmt.Errorf("merges: want , or ] after merge %d", i)
		}
	}
}

// jsonScanner reads the few JSON forms mergeList needs. encoding/json has
// already checked that the input is valid JSON.
type jsonScanner struct {
	data []byte
	pos  int
}

func (p *jsonScanner) skipSpace() {
	for p.pos < len(p.data) && (p.data[p.pos] == ' ' || p.data[p.pos] == '\n' || p.data[p.pos] == '\r' || p.data[p.pos] == '\t') {
		p.pos++
	}
}

func (p *jsonScanner) peek() byte {
	p.skipSpace()
	if p.pos < len(p.data) {
		return p.data[p.pos]
	}
	return 0
}

func (p *jsonScanner) consume(c byte) bool {
	if p.peek() == c {
		p.pos++
		return true
	}
	return false
}

// str reads a JSON string; only strings with escapes go through encoding/json.
func (p *jsonScanner) str() (string, error) {
	if p.peek() != '"' {
		return "", fmt.Errorf("want a string")
	}
	start := p.pos
	rest := p.data[start+1:]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return "", fmt.Errorf("unterminated string")
	}
	if bytes.IndexByte(rest[:end], '\\') < 0 {
		p.pos = start + 1 + end + 1
		return string(rest[:end]), nil
	}
	i := start + 1
	for i < len(p.data) && p.data[i] != '"' {
		if p.data[i] == '\\' {
			i++
		}
		i++
	}
	if i >= len(p.data) {
		return "", fmt.Errorf("unterminated string")
	}
	var s string
	if err := json.Unmarshal(p.data[start:i+1], &s); err != nil {
		return "", err
	}
	p.pos = i + 1
	return s, nil
}
