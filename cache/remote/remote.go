package remote

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/refeval/refeval/cache"
)

// A Mode says which way results move.
type Mode uint8

// The modes of --remote-mode.
const (
	Read      Mode = 1 << iota // look up local misses in the remote
	Write                      // upload what ran here
	ReadWrite = Read | Write
)

// ParseMode reads read, write or readwrite.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "read":
		return Read, nil
	case "write":
		return Write, nil
	case "readwrite", "":
		return ReadWrite, nil
	}
	return 0, fmt.Errorf("remote mode %q: want read, write or readwrite", s)
}

func (m Mode) String() string {
	switch m {
	case Read:
		return "read"
	case Write:
		return "write"
	}
	return "readwrite"
}

// Options configure a Remote.
type Options struct {
	// Mode says whether to read, write or both; zero means ReadWrite.
	Mode Mode
	// Warn receives one-line warnings: the remote is unreachable (once),
	// an entry or blob is damaged (once each). nil discards them.
	Warn func(msg string)
	// Parallel is how many files move at once (each large file also
	// moves in parallel pieces); default 8.
	Parallel int
	// Timeout bounds each small request (an entry, a memo, a stat), so a
	// slow remote costs at most this once before the build goes on
	// without it; default 10s.
	Timeout time.Duration
}

// A Remote is the team cache behind one local cache folder. Its methods
// are safe for concurrent use.
type Remote struct {
	store Store
	c     *cache.Cache
	opt   Options

	ctx    context.Context // for background uploads
	cancel context.CancelFunc

	down   atomic.Bool
	warned sync.Map // warning key → true: each problem is reported once

	sem     chan struct{} // bounds concurrent uploads
	pending sync.WaitGroup
	queued  atomic.Int64

	mu    sync.Mutex
	stats Stats
	errs  []error
	memos map[string]*memoIndex // namespace → keys present in the store

	blobLocks map[cache.ID]*sync.Mutex // downloads of one blob, one at a time
}

// Stats counts what a Remote moved.
type Stats struct {
	Hits, Entries, Blobs, Memos int   // fetched entries; uploaded entries, blobs, memos
	Down, Up                    int64 // bytes downloaded and uploaded
	Resumed                     int64 // bytes of partial downloads resumed instead of fetched
}

// New returns a Remote over store for the local cache c.
func New(store Store, c *cache.Cache, opt Options) *Remote {
	if opt.Mode == 0 {
		opt.Mode = ReadWrite
	}
	if opt.Parallel <= 0 {
		opt.Parallel = 8
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Remote{store: store, c: c, opt: opt, ctx: ctx, cancel: cancel,
		sem: make(chan struct{}, opt.Parallel), memos: map[string]*memoIndex{}}
}

// String names the remote, without credentials.
func (r *Remote) String() string { return r.store.String() }

// Mode returns the remote's mode.
func (r *Remote) Mode() Mode { return r.opt.Mode }

// Down reports whether the remote was found unreachable; a Remote that is
// down is a miss for every lookup and uploads nothing.
func (r *Remote) Down() bool { return r.down.Load() }

// Stats returns what was moved so far.
func (r *Remote) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stats
}

// warnOnce reports msg the first time key is seen.
func (r *Remote) warnOnce(key, msg string) {
	if _, dup := r.warned.LoadOrStore(key, true); dup || r.opt.Warn == nil {
		return
	}
	r.opt.Warn(msg)
}

// fail records that the remote did not answer: once reported, every later
// lookup is a miss and nothing more is uploaded, so a dead or slow store
// costs one timeout, not one per stage.
func (r *Remote) fail(ctx context.Context, err error) {
	if r.ctx.Err() != nil || (ctx.Err() != nil && errors.Is(err, context.Canceled)) {
		return // Close, or the build was interrupted: not the remote's fault
	}
	r.down.Store(true)
	r.warnOnce("down", fmt.Sprintf("remote %s is unreachable or failing (%v); going on with the local cache only", r.store, err))
}

// damaged reports a damaged object once; the caller treats it as a miss.
func (r *Remote) damaged(key, what string, err error) {
	r.warnOnce("damaged "+key, fmt.Sprintf("remote %s: %s is damaged (%v); treating it as a miss", r.store, what, err))
}

// A damageError is a remote object whose content is wrong: a miss, not an
// outage.
type damageError struct{ err error }

func (e damageError) Error() string { return e.err.Error() }
func (e damageError) Unwrap() error { return e.err }

func isDamage(err error) bool {
	var d damageError
	return errors.As(err, &d)
}

// short returns a context bounded by the small-request timeout.
func (r *Remote) short(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, r.opt.Timeout)
}

// Wait waits for every queued upload and returns what was uploaded and
// an error naming the uploads that failed (the results are still in the
// local cache; `refeval cache push` retries them).
func (r *Remote) Wait() (Stats, error) {
	r.pending.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	if len(r.errs) > 0 {
		msgs := make([]string, 0, 3)
		for _, e := range r.errs[:min(3, len(r.errs))] {
			msgs = append(msgs, e.Error())
		}
		more := ""
		if len(r.errs) > 3 {
			more = fmt.Sprintf(" (and %d more)", len(r.errs)-3)
		}
		err = fmt.Errorf("%d uploads to %s failed: %s%s", len(r.errs), r.store, strings.Join(msgs, "; "), more)
	}
	return r.stats, err
}

// Pending returns how many uploads are queued or running.
func (r *Remote) Pending() int64 { return r.queued.Load() }

// Close cancels uploads still running; call Wait first to finish them.
func (r *Remote) Close() { r.cancel() }

// enqueue runs job in the background, at most Parallel at once.
func (r *Remote) enqueue(job func(ctx context.Context) error) {
	r.pending.Add(1)
	r.queued.Add(1)
	go func() {
		defer r.pending.Done()
		defer r.queued.Add(-1)
		r.sem <- struct{}{}
		defer func() { <-r.sem }()
		if r.down.Load() {
			return // said once already
		}
		if r.ctx.Err() != nil {
			r.mu.Lock()
			r.errs = append(r.errs, errors.New("not uploaded: interrupted"))
			r.mu.Unlock()
			return
		}
		if err := job(r.ctx); err != nil {
			r.mu.Lock()
			r.errs = append(r.errs, err)
			r.mu.Unlock()
			r.fail(r.ctx, err)
		}
	}()
}
