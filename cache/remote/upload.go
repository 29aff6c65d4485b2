package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/refeval/refeval/cache"
)

// Upload queues action's entry and output for upload and returns at once;
// Wait waits for the queue. Nothing is queued in read-only mode or once
// the remote is down.
func (r *Remote) Upload(action cache.ID, e *cache.Entry) {
	if r.opt.Mode&Write == 0 || r.down.Load() {
		return
	}
	ec := *e
	r.enqueue(func(ctx context.Context) error {
		_, err := r.push(ctx, action, &ec)
		return err
	})
}

// Push uploads action's entry and output now, unless the remote has the
// entry already; it reports whether it uploaded.
func (r *Remote) Push(ctx context.Context, action cache.ID, e *cache.Entry) (bool, error) {
	if r.opt.Mode&Write == 0 {
		return false, fmt.Errorf("remote %s is read-only (--remote-mode read)", r.store)
	}
	if r.down.Load() {
		return false, errors.New("not tried: the remote did not answer an earlier upload")
	}
	up, err := r.push(ctx, action, e)
	var local *fs.PathError
	if err != nil && ctx.Err() == nil && !errors.As(err, &local) {
		r.down.Store(true) // one timeout for a dead store, not one per entry
	}
	return up, err
}

// push uploads every blob the remote lacks, then the entry: a reader
// never sees an entry whose blobs are missing.
func (r *Remote) push(ctx context.Context, action cache.ID, e *cache.Entry) (bool, error) {
	sctx, cancel := r.short(ctx)
	_, err := r.store.Stat(sctx, entryKey(action))
	cancel()
	if err == nil {
		return false, nil // another machine, or an earlier build, uploaded it
	}
	if !errors.Is(err, ErrNotExist) {
		return false, err
	}
	dir := r.c.OutputDir(e.OutputID)
	for _, f := range e.Files {
		if f.Size == 0 {
			continue // downloads create empty files without a blob
		}
		key := blobKey(f.Digest)
		sctx, cancel := r.short(ctx)
		obj, err := r.store.Stat(sctx, key)
		cancel()
		if err == nil && obj.Size == f.Size {
			continue
		}
		if err != nil && !errors.Is(err, ErrNotExist) {
			return false, err
		}
		file, err := os.Open(filepath.Join(dir, filepath.FromSlash(f.Name)))
		if err != nil {
			return false, fmt.Errorf("uploading %s: %w", e.Name, err)
		}
		err = r.store.Put(ctx, key, file, f.Size)
		file.Close()
		if err != nil {
			return false, fmt.Errorf("uploading %s: %w", e.Name, err)
		}
		r.mu.Lock()
		r.stats.Blobs++
		r.stats.Up += f.Size
		r.mu.Unlock()
	}
	data, err := json.Marshal(e)
	if err != nil {
		return false, err
	}
	if err := r.putBytes(ctx, entryKey(action), data); err != nil {
		return false, fmt.Errorf("uploading %s: %w", e.Name, err)
	}
	r.mu.Lock()
	r.stats.Entries++
	r.mu.Unlock()
	return true, nil
}

func (r *Remote) putBytes(ctx context.Context, key string, data []byte) error {
	sctx, cancel := r.short(ctx)
	defer cancel()
	return r.store.Put(sctx, key, bytes.NewReader(data), int64(len(data)))
}
