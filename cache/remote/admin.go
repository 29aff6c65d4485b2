package remote

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/refeval/refeval/cache"
)

// A Listed is one entry in the remote.
type Listed struct {
	Action   cache.ID
	Entry    *cache.Entry // nil if the entry is damaged
	Size     int64        // bytes of its output files
	Modified time.Time    // last upload or use
}

// List returns every entry of the remote, reading them 8 at a time.
// Damaged entries are listed with a nil Entry.
func (r *Remote) List(ctx context.Context) ([]Listed, error) {
	var objs []Object
	err := r.store.List(ctx, entryPrefix, func(o Object) error {
		objs = append(objs, o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Listed, len(objs))
	errs := make([]error, len(objs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, o := range objs {
		id, perr := cache.ParseID(strings.TrimPrefix(o.Key, entryPrefix))
		out[i] = Listed{Action: id, Modified: o.Modified}
		if perr != nil {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			e, _, _, err := r.readEntry(ctx, id)
			if err != nil {
				if !isDamage(err) && !errors.Is(err, cache.ErrNotFound) {
					errs[i] = err
				}
				return
			}
			out[i].Entry = e
			for _, f := range e.Files {
				out[i].Size += f.Size
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// GCReport says what GC removed (or, with DryRun, would remove).
type GCReport struct {
	Entries, Blobs, Memos, Uploads int
	Bytes                          int64
	Kept                           int
	DryRun                         bool
}

// uploadAborter is a Store that can abort unfinished multipart uploads.
type uploadAborter interface {
	AbortUploads(ctx context.Context, cutoff time.Time) (int, error)
}

// GC removes from the remote what no machine of the team used within
// olderThan: entries not uploaded or hit since then (a hit rewrites the
// entry at most hourly), blobs that no remaining entry names and that are
// older than that too (so that a blob uploaded just now for an entry not
// yet written is kept), memos written before then, and unfinished
// multipart uploads started before then. Damaged entries go whatever
// their age.
func (r *Remote) GC(ctx context.Context, olderThan time.Duration, dryRun bool) (GCReport, error) {
	rep := GCReport{DryRun: dryRun}
	cutoff := time.Now().Add(-olderThan)
	listed, err := r.List(ctx)
	if err != nil {
		return rep, err
	}
	keep := map[string]bool{}
	del := func(key string, size int64) error {
		rep.Bytes += size
		if dryRun {
			return nil
		}
		return r.store.Delete(ctx, key)
	}
	for _, l := range listed {
		if l.Entry != nil && !l.Modified.Before(cutoff) {
			rep.Kept++
			for _, f := range l.Entry.Files {
				keep[blobKey(f.Digest)] = true
			}
			continue
		}
		rep.Entries++
		if err := del(entryKey(l.Action), 0); err != nil {
			return rep, err
		}
	}
	var blobs, memos []Object
	if err := r.store.List(ctx, blobPrefix, func(o Object) error {
		if !keep[o.Key] && o.Modified.Before(cutoff) {
			blobs = append(blobs, o)
		}
		return nil
	}); err != nil {
		return rep, err
	}
	if err := r.store.List(ctx, memoPrefix, func(o Object) error {
		if o.Modified.Before(cutoff) {
			memos = append(memos, o)
		}
		return nil
	}); err != nil {
		return rep, err
	}
	for _, o := range blobs {
		rep.Blobs++
		if err := del(o.Key, o.Size); err != nil {
			return rep, err
		}
	}
	for _, o := range memos {
		rep.Memos++
		if err := del(o.Key, o.Size); err != nil {
			return rep, err
		}
	}
	if a, ok := r.store.(uploadAborter); ok && !dryRun {
		n, err := a.AbortUploads(ctx, cutoff)
		if err != nil {
			return rep, err
		}
		rep.Uploads = n
	}
	return rep, nil
}
