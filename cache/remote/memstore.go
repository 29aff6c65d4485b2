package remote

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"
)

// MemStore is a Store in memory, for tests. Fail, when set, is called
// before every operation and its error returned, to simulate an
// unreachable or failing server.
type MemStore struct {
	mu      sync.Mutex
	objects map[string]memObject
	Fail    func(op, key string) error
	// Now is the clock for Modified times; nil means time.Now.
	Now func() time.Time
}

type memObject struct {
	data     []byte
	modified time.Time
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{objects: map[string]memObject{}} }

func (m *MemStore) fail(ctx context.Context, op, key string) error {
	if m.Fail != nil {
		if err := m.Fail(op, key); err != nil {
			return err
		}
	}
	return ctx.Err() // a cancelled request fails, as over the network
}

func (m *MemStore) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Get implements Store.
func (m *MemStore) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, Object, error) {
	if err := m.fail(ctx, "get", key); err != nil {
		return nil, Object{}, err
	}
	m.mu.Lock()
	o, ok := m.objects[key]
	m.mu.Unlock()
	if !ok {
		return nil, Object{}, fmt.Errorf("%s: %w", key, ErrNotExist)
	}
	b := o.data
	if off > int64(len(b)) {
		off = int64(len(b))
	}
	b = b[off:]
	if n >= 0 && n < int64(len(b)) {
		b = b[:n]
	}
	return io.NopCloser(bytes.NewReader(b)), Object{Key: key, Size: int64(len(o.data)), Modified: o.modified}, nil
}

// Stat implements Store.
func (m *MemStore) Stat(ctx context.Context, key string) (Object, error) {
	if err := m.fail(ctx, "stat", key); err != nil {
		return Object{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	o, ok := m.objects[key]
	if !ok {
		return Object{}, fmt.Errorf("%s: %w", key, ErrNotExist)
	}
	return Object{Key: key, Size: int64(len(o.data)), Modified: o.modified}, nil
}

// Put implements Store.
func (m *MemStore) Put(ctx context.Context, key string, r io.ReaderAt, size int64) error {
	if err := m.fail(ctx, "put", key); err != nil {
		return err
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && !(err == io.EOF && size == 0) {
		if err != io.EOF {
			return err
		}
	}
	m.mu.Lock()
	m.objects[key] = memObject{data: b, modified: m.now()}
	m.mu.Unlock()
	return nil
}

// List implements Store.
func (m *MemStore) List(ctx context.Context, prefix string, fn func(Object) error) error {
	if err := m.fail(ctx, "list", prefix); err != nil {
		return err
	}
	m.mu.Lock()
	var objs []Object
	for k, o := range m.objects {
		if strings.HasPrefix(k, prefix) {
			objs = append(objs, Object{Key: k, Size: int64(len(o.data)), Modified: o.modified})
		}
	}
	m.mu.Unlock()
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	for _, o := range objs {
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

// Delete implements Store.
func (m *MemStore) Delete(ctx context.Context, key string) error {
	if err := m.fail(ctx, "delete", key); err != nil {
		return err
	}
	m.mu.Lock()
	delete(m.objects, key)
	m.mu.Unlock()
	return nil
}

// Set replaces key's content, for tests that damage the store.
func (m *MemStore) Set(key string, data []byte) {
	m.mu.Lock()
	m.objects[key] = memObject{data: data, modified: m.now()}
	m.mu.Unlock()
}

// Keys returns every key, sorted.
func (m *MemStore) Keys() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ks []string
	for k := range m.objects {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// String implements Store.
func (m *MemStore) String() string { return "mem://" }
