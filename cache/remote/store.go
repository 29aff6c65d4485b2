package remote

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotExist is returned (possibly wrapped) by a Store for a missing
// object.
var ErrNotExist = errors.New("remote: no such object")

// An Object describes one stored object.
type Object struct {
	Key      string // relative to the store's prefix
	Size     int64
	Modified time.Time
}

// A Store is an object store holding the remote cache. Keys are
// slash-separated and relative to the store's own prefix. Implementations
// are safe for concurrent use.
type Store interface {
	// Get returns n bytes of key's content from offset off (n < 0: to the
	// end) and the object's description.
	Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, Object, error)
	// Stat describes key.
	Stat(ctx context.Context, key string) (Object, error)
	// Put stores size bytes read from r as key, replacing any object
	// there. An object appears whole or not at all.
	Put(ctx context.Context, key string, r io.ReaderAt, size int64) error
	// List calls fn for every object whose key starts with prefix.
	List(ctx context.Context, prefix string, fn func(Object) error) error
	// Delete removes key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
	// String names the store for messages, without credentials.
	String() string
}
