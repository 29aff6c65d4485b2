package cache

import (
	"bytes"
	"fmt"
	"io"
	"strconv"

	"github.com/zeebo/blake3"
)

// hashSalt starts every ActionID. Change it to invalidate every cache entry
// at once, when the meaning of the lines themselves changes (cmd/go salts
// its hashes the same way in cmd/go/internal/cache/hash.go hashSalt).
const hashSalt = "refeval cache v1"

// A Hash builds an ActionID from readable lines, the way cmd/go's
// buildActionID does: everything that can change a step's result is written
// as one line, so that REFEVAL_DEBUG=cachehash=1 can show exactly what went
// into an ID and two IDs can be compared by diffing their lines.
//
// The lines are kept and hashed at Sum in one call: a streaming BLAKE3
// hasher is an 8 KB allocation, most of what planning a cached stage
// allocated, while a stage's lines are a few hundred bytes. The digest is
// the same (BLAKE3 of the same bytes).
type Hash struct {
	name  string
	buf   []byte
	debug io.Writer
}

// NewHash returns a Hash whose first line is the cache-format salt and name
// (for example "stage.sample.train"). If debug is non-nil, every line and the
// final sum are echoed to it as "HASH[name]: line".
func NewHash(name string, debug io.Writer) *Hash {
	h := &Hash{name: name, buf: make([]byte, 0, 1024), debug: debug}
	h.Line("%s %s", hashSalt, name)
	return h
}

// Line adds one line, formatted with fmt.Sprintf, followed by a newline.
// A line that contains a newline (or starts with a double quote) is written
// Go-quoted, so that two different lists of lines never hash the same.
func (h *Hash) Line(format string, args ...any) {
	start := len(h.buf)
	h.buf = fmt.Appendf(h.buf, format, args...)
	if s := h.buf[start:]; bytes.IndexByte(s, '\n') >= 0 || bytes.HasPrefix(s, []byte(`"`)) {
		h.buf = strconv.AppendQuote(h.buf[:start], string(s))
	}
	if h.debug != nil {
		fmt.Fprintf(h.debug, "HASH[%s]: %s\n", h.name, h.buf[start:])
	}
	h.buf = append(h.buf, '\n')
}

// Sum returns the ActionID of the lines written so far. More lines may be
// added afterwards; Sum then covers them too.
func (h *Hash) Sum() ID {
	id := ID(blake3.Sum256(h.buf))
	if h.debug != nil {
		fmt.Fprintf(h.debug, "HASH[%s]: %s\n", h.name, id)
	}
	return id
}
