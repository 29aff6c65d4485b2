package cache

import (
	"encoding/hex"
	"fmt"
)

// An ID is a 32-byte digest: an ActionID, an OutputID or the content digest
// of a file or folder. All three are BLAKE3-256 values (see digest.go).
type ID [32]byte

// String returns the ID as 64 lowercase hex digits.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is the zero ID, which no digest produces in
// practice and which the package uses for "none".
func (id ID) IsZero() bool { return id == ID{} }

// ParseID parses 64 hex digits (either case) as written by ID.String.
func ParseID(s string) (ID, error) {
	var id ID
	if len(s) != 2*len(id) {
		return ID{}, fmt.Errorf("cache: malformed id %q: want %d hex digits, got %d", s, 2*len(id), len(s))
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return ID{}, fmt.Errorf("cache: malformed id %q: %v", s, err)
	}
	return id, nil
}

// MarshalText writes the ID as hex, so that JSON (index entries, `cache ls
// --json`) shows IDs the way they are printed everywhere else.
func (id ID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText parses hex written by MarshalText.
func (id *ID) UnmarshalText(b []byte) error {
	v, err := ParseID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}
