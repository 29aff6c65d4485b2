package engine

import (
	"context"

	"github.com/refeval/refeval/cache"
)

// A Remote is a shared cache behind the local one (cache/remote holds the
// S3 one). The engine asks it on every local miss and hands it every
// result it ran; cmd/refeval waits for its uploads after the build.
type Remote interface {
	// Fetch looks action up remotely. On a hit the output and entry are
	// now in the local cache (entry under pipeline and addr) and Fetch
	// returns the entry; a miss, damage or an unreachable remote is
	// cache.ErrNotFound. Other errors are local cache failures.
	Fetch(ctx context.Context, action cache.ID, pipeline, addr string) (*cache.Entry, error)
	// Upload queues action's entry and output for upload and returns at
	// once.
	Upload(action cache.ID, e *cache.Entry)
	// Memo wraps a stage kind's local memo store so that item results
	// are also read from and written to the remote.
	Memo(namespace string, local Memo) Memo
}

// ok reports whether a stage with this status has an output.
func (s Status) ok() bool { return s == StatusRan || s == StatusCached || s == StatusRemote }
