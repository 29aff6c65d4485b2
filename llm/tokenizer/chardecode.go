package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"
)

// charDecoder is the decoder of a character-level file, a sequence of the
// Rust library's decoders in this order: per-token Replace and Metaspace
// steps, then ByteFallback, Fuse and Strip. Llama 2 and Mistral: Replace ▁ by
// space, ByteFallback, Fuse, Strip one leading space; Gemma: the same
// without Strip. A missing decoder joins the tokens with spaces, as Rust does.
type charDecoder struct {
	none         bool          // no decoder: tokens joined by " "
	perToken     []tokenStep   // before ByteFallback
	byteFallback bool          // <0xNN> runs become their UTF-8 (or one U+FFFD per byte)
	strip        *stripDecoder // nil: none
}

type tokenStep struct {
	from, to  string // Replace
	metaFirst bool   // Metaspace: the first token loses its replacement characters
}

// stripDecoder removes up to start leading and stop trailing copies of
// content, from the whole text (after Fuse) or from each token.
type stripDecoder struct {
	content     string
	start, stop int
	whole       bool
}

// parseCharDecoder reads the decoder of a character-level file.
func parseCharDecoder(raw json.RawMessage) (*charDecoder, error) {
	d := &charDecoder{}
	if isNull(raw) {
		d.none = true
		return d, nil
	}
	var top struct {
		Type     string            `json:"type"`
		Decoders []json.RawMessage `json:"decoders"`
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("decoder: %w", err)
	}
	raws := []json.RawMessage{raw}
	if top.Type == "Sequence" {
		raws = top.Decoders
	}
	stage, fused := 0, false // 0: per-token steps, 1: after ByteFallback, 2: after Strip
	for _, r := range raws {
		var s struct {
			Type          string          `json:"type"`
			Pattern       json.RawMessage `json:"pattern"`
			Content       string          `json:"content"`
			Start         int             `json:"start"`
			Stop          int             `json:"stop"`
			Replacement   string          `json:"replacement"`
			PrependScheme string          `json:"prepend_scheme"`
			AddPrefix     *bool           `json:"add_prefix_space"`
		}
		if err := json.Unmarshal(r, &s); err != nil {
			return nil, fmt.Errorf("decoder: %w", err)
		}
		order := fmt.Errorf("decoder: %s after ByteFallback, Fuse or Strip is not supported", s.Type)
		switch s.Type {
		case "Replace":
			var pat struct {
				String *string `json:"String"`
			}
			if err := json.Unmarshal(s.Pattern, &pat); err != nil || pat.String == nil || *pat.String == "" {
				return nil, fmt.Errorf("decoder Replace: only {\"String\": ...} patterns are supported, got %s", s.Pattern)
			}
			if stage > 0 || fused {
				return nil, order
			}
			d.perToken = append(d.perToken, tokenStep{from: *pat.String, to: s.Content})
		case "Metaspace":
			if stage > 0 || fused {
				return nil, order
			}
			repl := s.Replacement
			if repl == "" {
				repl = "▁"
			}
			first := s.PrependScheme != "never"
			if s.PrependScheme == "" && s.AddPrefix != nil {
				first = *s.AddPrefix
			}
			d.perToken = append(d.perToken, tokenStep{from: repl, to: " ", metaFirst: first})
		case "ByteFallback":
			if stage > 0 || fused {
				return nil, order
			}
			d.byteFallback, stage = true, 1
		case "Fuse":
			if stage > 1 {
				return nil, order
			}
			fused = true
		case "Strip":
			if stage > 1 {
				return nil, fmt.Errorf("decoder: more than one Strip is not supported")
			}
			if utf8.RuneCountInString(s.Content) != 1 {
				return nil, fmt.Errorf("decoder Strip: content %q is not one character", s.Content)
			}
			if !fused && d.byteFallback {
				return nil, fmt.Errorf("decoder: Strip after ByteFallback without Fuse is not supported")
			}
			d.strip = &stripDecoder{content: s.Content, start: s.Start, stop: s.Stop, whole: fused}
			stage = 2
		default:
			return nil, fmt.Errorf("decoder %q is not supported for a character-level vocabulary (supported: Replace, Metaspace, ByteFallback, Fuse, Strip, Sequence)", s.Type)
		}
	}
	return d, nil
}

// isByteToken returns the byte of a "<0xNN>" token, as the ByteFallback
// decoder recognises them.
func isByteToken(tok string) (byte, bool) {
	if len(tok) != 6 || tok[:3] != "<0x" || tok[5] != '>' {
		return 0, false
	}
	var b byte
	for _, c := range []byte(tok[3:5]) {
		switch {
		case c >= '0' && c <= '9':
			b = b<<4 | (c - '0')
		case c >= 'a' && c <= 'f':
			b = b<<4 | (c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			b = b<<4 | (c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return b, true
}

// charStream decodes the tokens of a character-level file one at a time. The
// concatenation of its outputs is the Rust decoder's text: a run of byte
// tokens is held until the run ends (a later invalid byte turns the whole run
// into U+FFFDs), and with a trailing Strip the trailing content is held until
// Flush.
type charStream struct {
	d         *charDecoder
	n         int    // tokens seen
	bytes     []byte // the current run of byte tokens
	stripLeft int    // leading copies still to strip from the whole text
	held      int    // trailing copies of the strip content held back (whole-text stop)
}

func newCharStream(d *charDecoder) *charStream {
	s := &charStream{d: d}
	if d.strip != nil && d.strip.whole {
		s.stripLeft = d.strip.start
	}
	return s
}

// add decodes one token (its vocabulary form) and returns the text now complete.
func (s *charStream) add(tok string) string {
	d := s.d
	if d.none {
		s.n++
		if s.n > 1 {
			return " " + tok
		}
		return tok
	}
	for _, st := range d.perToken {
		if st.metaFirst && s.n == 0 {
			tok = strings.ReplaceAll(tok, st.from, "")
		} else {
			tok = strings.ReplaceAll(tok, st.from, st.to)
		}
	}
	s.n++
	if d.byteFallback {
		if b, ok := isByteToken(tok); ok {
			s.bytes = append(s.bytes, b)
			return ""
		}
	}
	var out strings.Builder
	s.flushBytes(&out)
	s.piece(&out, tok)
	return out.String()
}

// flush returns what is held back and resets the stream.
func (s *charStream) flush() string {
	var out strings.Builder
	s.flushBytes(&out)
	if s.d.strip != nil && s.d.strip.whole && s.held > 0 {
		out.WriteString(strings.Repeat(s.d.strip.content, max(0, s.held-s.d.strip.stop)))
	}
	*s = *newCharStream(s.d)
	return out.String()
}

// flushBytes ends a run of byte tokens: valid UTF-8 is one token, anything
// else one U+FFFD per byte (the Rust ByteFallback decoder).
func (s *charStream) flushBytes(out *strings.Builder) {
	if len(s.bytes) == 0 {
		return
	}
	if utf8.Valid(s.bytes) {
		s.piece(out, string(s.bytes))
	} else {
		for range s.bytes {
			s.piece(out, "\uFFFD")
		}
	}
	s.bytes = s.bytes[:0]
}

// piece writes one decoded token through Strip.
func (s *charStream) piece(out *strings.Builder, p string) {
	st := s.d.strip
	if st == nil {
		out.WriteString(p)
		return
	}
	if !st.whole {
		for k := 0; k < st.start && strings.HasPrefix(p, st.content); k++ {
			p = p[len(st.content):]
		}
		for k := 0; k < st.stop && strings.HasSuffix(p, st.content); k++ {
			p = p[:len(p)-len(st.content)]
		}
		out.WriteString(p)
		return
	}
	for s.stripLeft > 0 && strings.HasPrefix(p, st.content) {
		p = p[len(st.content):]
		s.stripLeft--
	}
	if p == "" {
		return
	}
	s.stripLeft = 0
	if st.stop == 0 {
		out.WriteString(p)
		return
	}
	// Hold the trailing copies of content: they may end the text.
	trail := 0
	for strings.HasSuffix(p, st.content) {
		p = p[:len(p)-len(st.content)]
		trail++
	}
	if p != "" {
		out.WriteString(strings.Repeat(st.content, s.held))
		out.WriteString(p)
		s.held = 0
	}
	s.held += trail
}
