package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/zeebo/blake3"
)

// A Memo stores per-item results (engine.Memo, cache.Memo).
type Memo interface {
	Get(key string) (val []byte, ok bool, err error)
	Put(key string, val []byte) error
}

// memoIndex is the set of memo keys of one namespace present in the
// store, listed once per build: a namespace with 10,000 items costs one
// listing, not 10,000 lookups that miss.
type memoIndex struct {
	once sync.Once
	keys map[string]bool
}

// Memo returns a memo store that reads local first, then the remote (a
// remote hit is copied into local), and that uploads what is Put in the
// background. Remote memos are checked against the digest stored with
// them; a damaged one is a miss, reported once.
func (r *Remote) Memo(ns string, local Memo) Memo { return &remoteMemo{r: r, ns: ns, local: local} }

type remoteMemo struct {
	r     *Remote
	ns    string
	local Memo
}

func (m *remoteMemo) Get(key string) ([]byte, bool, error) {
	val, ok, err := m.local.Get(key)
	if ok || err != nil {
		return val, ok, err
	}
	r := m.r
	k := memoKey(m.ns, key)
	if r.opt.Mode&Read == 0 || r.down.Load() || !r.memoPresent(m.ns, k) {
		return nil, false, nil
	}
	ctx, cancel := r.short(r.ctx)
	defer cancel()
	rc, _, err := r.store.Get(ctx, k, 0, -1)
	if errors.Is(err, ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		r.fail(ctx, err)
		return nil, false, nil
	}
	data, err := io.ReadAll(io.LimitReader(rc, 1<<30))
	rc.Close()
	if err != nil {
		r.fail(ctx, err)
		return nil, false, nil
	}
	if len(data) < 32 || blake3.Sum256(data[32:]) != [32]byte(data[:32]) {
		r.damaged(k, fmt.Sprintf("memo %s/%q", m.ns, key), errors.New("its digest does not match"))
		return nil, false, nil
	}
	val = data[32:]
	if err := m.local.Put(key, val); err != nil {
		return nil, false, err
	}
	r.mu.Lock()
	r.stats.Down += int64(len(data))
	r.mu.Unlock()
	return val, true, nil
}

func (m *remoteMemo) Put(key string, val []byte) error {
	if err := m.local.Put(key, val); err != nil {
		return err
	}
	r := m.r
	if r.opt.Mode&Write == 0 || r.down.Load() {
		return nil
	}
	sum := blake3.Sum256(val)
	data := append(sum[:], val...)
	k := memoKey(m.ns, key)
	r.enqueue(func(ctx context.Context) error {
		if err := r.store.Put(ctx, k, bytes.NewReader(data), int64(len(data))); err != nil {
			return err
		}
		r.mu.Lock()
		r.stats.Memos++
		r.stats.Up += int64(len(data))
		r.mu.Unlock()
		return nil
	})
	return nil
}

// memoPresent reports whether key is in the store, listing the
// namespace's keys the first time it is asked.
func (r *Remote) memoPresent(ns, key string) bool {
	r.mu.Lock()
	idx := r.memos[ns]
	if idx == nil {
		idx = &memoIndex{}
		r.memos[ns] = idx
	}
	r.mu.Unlock()
	idx.once.Do(func() {
		ctx, cancel := r.short(r.ctx)
		defer cancel()
		keys := map[string]bool{}
		err := r.store.List(ctx, memoNSKey(ns), func(o Object) error {
			keys[o.Key] = true
			return nil
		})
		if err != nil {
			r.fail(ctx, err)
		}
		idx.keys = keys
	})
	return idx.keys[key] && !strings.HasSuffix(key, "/")
}
