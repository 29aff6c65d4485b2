package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// A StreamDecoder decodes ids one at a time, for printing tokens as they are
// generated. It emits complete UTF-8 only, holding back the first bytes of a
// character until the token that completes it arrives. It is not safe for
// concurrent use; make one per stream.
type StreamDecoder struct {
	t *Tokenizer
	// SkipSpecial drops special tokens, as Decode's skipSpecial does.
	SkipSpecial bool
	pending     []byte
	chars       *charStream // character-level files
}

// NewDecoder returns a streaming decoder. The concatenation of its Add
// results and Flush equals Decode of the same ids.
func (t *Tokenizer) NewDecoder() *StreamDecoder {
	d := &StreamDecoder{t: t}
	if t.charDec != nil {
		d.chars = newCharStream(t.charDec)
	}
	return d
}

// Add decodes one more id and returns the text that is now complete.
func (d *StreamDecoder) Add(id int) string {
	if d.SkipSpecial && d.t.special[id] {
		return ""
	}
	if d.chars != nil {
		tok := d.t.Token(id)
		if tok == "" {
			return "" // unknown ids are dropped
		}
		return d.chars.add(tok)
	}
	s, _ := d.t.tokenBytes(id)
	d.pending = append(d.pending, s...)
	keep := incompleteSuffix(d.pending)
	out := lossyUTF8(string(d.pending[:len(d.pending)-keep]))
	d.pending = append(d.pending[:0], d.pending[len(d.pending)-keep:]...)
	return out
}

// Flush returns what is held back (as U+FFFD: it never became a character)
// and resets the decoder.
func (d *StreamDecoder) Flush() string {
	if d.chars != nil {
		return d.chars.flush()
	}
	out := lossyUTF8(string(d.pending))
	d.pending = d.pending[:0]
	return out
}

// incompleteSuffix returns the length of the end of b that is a proper prefix
// of a valid UTF-8 sequence: bytes a later token may complete.
func incompleteSuffix(b []byte) int {
	for k := 1; k <= 3 && k <= len(b); k++ {
		c := b[len(b)-k]
		if c < 0x80 {
			return 0
		}
		if c >= 0xC0 { // a lead byte
			if n := validPrefix(b[len(b)-k:]); n == k && k < seqLen(c) {
				return k
			}
			return 0
		}
	}
	return 0
}

// seqLen returns the length of the UTF-8 sequence that lead byte c starts,
// 0 if c cannot start one.
func seqLen(c byte) int {
	switch {
	case c < 0x80:
		return 1
	case c >= 0xC2 && c <= 0xDF:
		return 2
	case c >= 0xE0 && c <= 0xEF:
		return 3
	case c >= 0xF0 && c <= 0xF4:
		return 4
	}
	return 0
}

// validPrefix returns how many bytes at the start of b belong to one
// well-formed UTF-8 sequence (which may be cut short by the end of b): the
// "maximal subpart" that Unicode and Rust's from_utf8_lossy replace by one
// U+FFFD when the sequence is ill-formed. It is at least 1 for non-empty b.
func validPrefix(b []byte) int {
	n := seqLen(b[0])
	if n <= 1 {
		return 1
	}
	lo, hi := byte(0x80), byte(0xBF)
	switch b[0] {
	case 0xE0:
		lo = 0xA0
	case 0xED:
		hi = 0x9F
	case 0xF0:
		lo = 0x90
	case 0xF4:
		hi = 0x8F
	}
	i := 1
	for ; i < n && i < len(b); i++ {
		if b[i] < lo || b[i] > hi {
			break
		}
		lo, hi = 0x80, 0xBF
	}
	return i
}

// lossyUTF8 replaces each maximal ill-formed subpart of s by U+FFFD, as Rust's
// String::from_utf8_lossy does.
func lossyUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError || w > 1 {
			b.WriteString(s[i : i+w])
			i += w
			continue
		}
		b.WriteRune(utf8.RuneError)
		i += validPrefix([]byte(s[i:min(len(s), i+4)]))
	}
	return b.String()
}
