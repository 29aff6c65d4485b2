package cache

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"strconv"
	"time"
	"unicode/utf8"
)

// A fast path for decoding index entries. Every cached stage a plan or a
// no-op build looks at decodes its entry, and encoding/json's reflection
// (then a second pass to compact Meta) was most of what a Get cost.
// decodeEntryFast reads the exact layout encodeEntry writes (field names
// as written, no escapes in strings, integers as plain digits, a canonical
// Meta) and gives up on anything else, which then goes through
// encoding/json as before: it accepts a value only when it decodes it to
// the same Entry (FuzzDecodeEntryFast compares the two on arbitrary input).

// decodeEntryFast decodes b into e if b has the layout encodeEntry writes,
// and reports whether it did; on false, e holds garbage.
func decodeEntryFast(b []byte, e *Entry) bool {
	s := entryScanner{b: b}
	if !s.byte('{') {
		return false
	}
	var seen [8]bool
	for first := true; ; first = false {
		if s.byte('}') {
			break
		}
		if !first && !s.byte(',') {
			return false
		}
		key, ok := s.plainString()
		if !ok || !s.byte(':') {
			return false
		}
		i := entryFieldIndex(key)
		if i < 0 || seen[i] {
			return false
		}
		seen[i] = true
		switch i {
		case 0:
			ok = s.id(&e.OutputID)
		case 1:
			e.Files, ok = s.files()
		case 2:
			e.Name, ok = s.text()
		case 3:
			e.Scope, ok = s.text()
		case 4:
			e.Meta, ok = s.meta()
		case 5:
			ok = s.time(&e.Created)
		case 6:
			ok = s.time(&e.LastUsed)
		case 7:
			var d int64
			d, ok = s.int(64)
			e.Duration = time.Duration(d)
		}
		if !ok {
			return false
		}
	}
	s.space()
	// Without Meta the value may be of the first layout (record_v1.go).
	return s.i == len(b) && seen[4]
}

// entryFields are Entry's JSON field names, as encodeEntry writes them.
var entryFields = [8]string{"OutputID", "Files", "Name", "Scope", "Meta", "Created", "LastUsed", "Duration"}

func entryFieldIndex(key []byte) int {
	for i, f := range entryFields {
		if string(key) == f {
			return i
		}
	}
	return -1
}

// entryScanner reads JSON tokens from b at i, skipping white space.
type entryScanner struct {
	b []byte
	i int
}

func (s *entryScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// byte consumes c if it is the next token.
func (s *entryScanner) byte(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// plainString reads a string without escapes or control characters, in
// valid UTF-8, and returns its bytes (aliasing b).
func (s *entryScanner) plainString() ([]byte, bool) {
	if !s.byte('"') {
		return nil, false
	}
	start := s.i
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			str := s.b[start:s.i]
			s.i++
			return str, utf8.Valid(str)
		case c == '\\' || c < 0x20:
			return nil, false
		}
		s.i++
	}
	return nil, false
}

func (s *entryScanner) text() (string, bool) {
	str, ok := s.plainString()
	return string(str), ok
}

func (s *entryScanner) id(id *ID) bool {
	str, ok := s.plainString()
	return ok && id.UnmarshalText(str) == nil
}

// time decodes a string the way encoding/json does: through
// time.Time.UnmarshalJSON, given the quoted string.
func (s *entryScanner) time(t *time.Time) bool {
	s.space()
	start := s.i
	if _, ok := s.plainString(); !ok {
		return false
	}
	return t.UnmarshalJSON(s.b[start:s.i]) == nil
}

// int reads an integer written as plain digits, with an optional minus,
// that fits in bits.
func (s *entryScanner) int(bits int) (int64, bool) {
	s.space()
	start := s.i
	if s.i < len(s.b) && s.b[s.i] == '-' {
		s.i++
	}
	digits := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	n := s.i - digits
	if n == 0 || n > 1 && s.b[digits] == '0' {
		return 0, false // not JSON, or a leading zero (not JSON either)
	}
	if s.i < len(s.b) && (s.b[s.i] == '.' || s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		return 0, false
	}
	v, err := strconv.ParseInt(string(s.b[start:s.i]), 10, bits)
	return v, err == nil
}

// files reads a manifest: an array of File objects, or null (an empty
// output's nil manifest).
func (s *entryScanner) files() ([]File, bool) {
	s.space()
	if bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		s.i += len("null")
		return nil, true
	}
	if !s.byte('[') {
		return nil, false
	}
	files := []File{}
	for first := true; ; first = false {
		if s.byte(']') {
			return files, true
		}
		if !first && !s.byte(',') {
			return nil, false
		}
		var f File
		if !s.file(&f) {
			return nil, false
		}
		files = append(files, f)
	}
}

func (s *entryScanner) file(f *File) bool {
	if !s.byte('{') {
		return false
	}
	var seen [4]bool
	for first := true; ; first = false {
		if s.byte('}') {
			return true
		}
		if !first && !s.byte(',') {
			return false
		}
		key, ok := s.plainString()
		if !ok || !s.byte(':') {
			return false
		}
		var i int
		switch string(key) {
		case "Name":
			f.Name, ok = s.text()
		case "Size":
			i = 1
			f.Size, ok = s.int(64)
		case "Digest":
			i = 2
			ok = s.id(&f.Digest)
		case "Mode":
			i = 3
			// A uint32: encoding/json refuses a minus, even on zero.
			s.space()
			var m int64
			if s.i < len(s.b) && s.b[s.i] == '-' {
				ok = false
			} else if m, ok = s.int(33); ok && m <= 1<<32-1 {
				f.Mode = fs.FileMode(m)
			} else {
				ok = false
			}
		default:
			return false
		}
		if !ok || seen[i] {
			return false
		}
		seen[i] = true
	}
}

// meta reads Meta: a JSON object or array already in the form
// canonicalMeta gives (compact, with <, > and & escaped), copied.
func (s *entryScanner) meta() (json.RawMessage, bool) {
	s.space()
	start := s.i
	if s.i >= len(s.b) || s.b[s.i] != '{' && s.b[s.i] != '[' {
		return nil, false
	}
	// Find the end of the value: depth counts brackets outside strings.
	depth, in := 0, false
scan:
	for ; s.i < len(s.b); s.i++ {
		c := s.b[s.i]
		if in {
			switch c {
			case '\\':
				s.i++
			case '"':
				in = false
			case '<', '>', '&':
				return nil, false // json.Marshal escapes them
			case 0xE2: // U+2028 and U+2029, which json.Marshal escapes too
				if rest := s.b[s.i:]; len(rest) >= 3 && rest[1] == 0x80 && (rest[2] == 0xA8 || rest[2] == 0xA9) {
					return nil, false
				}
			}
			continue
		}
		switch c {
		case '"':
			in = true
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case ' ', '\t', '\n', '\r':
			return nil, false // not compact
		}
		if depth == 0 {
			s.i++
			break scan
		}
	}
	m := s.b[start:s.i]
	if depth != 0 || !json.Valid(m) {
		return nil, false
	}
	return bytes.Clone(m), true
}
