package cache

import (
	"fmt"
	"io"
	"strconv"
	"strings"

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
type Hash struct {
	name  string
	h     *blake3.Hasher
	debug io.Writer
}

// NewHash returns a Hash whose first line is the cache-format salt and name
// (for example "stage.sample.train"). If debug is non-nil, every line and the
// final sum are echoed to it as "HASH[name]: line".
func NewHash(name string, debug io.Writer) *Hash {
	h := &Hash{name: name, h: blake3.New(), debug: debug}
	h.Line("%s %s", hashSalt, name)
	return h
}

// Line adds one line, formatted with fmt.Sprintf, followed by a newline.
// A line that contains a newline (or starts with a double quote) is written
// Go-quoted, so that two different lists of lines never hash the same.
func (h *Hash) Line(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	if strings.ContainsRune(s, '\n') || strings.HasPrefix(s, `"`) {
		s = strconv.Quote(s)
	}
	if h.debug != nil {
		fmt.Fprintf(h.debug, "HASH[%s]: %s\n", h.name, s)
	}
	h.h.WriteString(s)
	h.h.WriteString("\n")
}

// Sum returns the ActionID of the lines written so far. More lines may be
// added afterwards; Sum then covers them too.
func (h *Hash) Sum() ID {
	var id ID
	h.h.Sum(id[:0])
	if h.debug != nil {
		fmt.Fprintf(h.debug, "HASH[%s]: %s\n", h.name, id)
	}
	return id
}
