package cache

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// A Memo stores per-item results of long stages (one sampled prompt, one
// judged pair) under keys the stage computes, so that an interrupted stage
// resumes and a grown dataset costs only its new items. It satisfies
// engine.Memo.
type Memo struct {
	c  *Cache
	ns string
}

// Memo returns the memo store of a namespace (for example a stage kind and
// version). Keys of different namespaces never collide.
func (c *Cache) Memo(namespace string) *Memo { return &Memo{c: c, ns: namespace} }

// Get returns the value stored under key, and whether there was one. A
// value the damaged index cannot read counts as absent.
func (m *Memo) Get(key string) ([]byte, bool, error) {
	var val []byte
	err := m.c.view(func(txn *badger.Txn) error {
		item, err := txn.Get(memoKey(m.ns, key))
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, false, nil
	}
	if err != nil {
		// A damaged index: the item is computed again.
		m.c.noteDamage(fmt.Sprintf("reading memo %s/%q", m.ns, key), err)
		return nil, false, nil
	}
	return val, true, nil
}

// Put stores val under key. It is durable when Put returns.
func (m *Memo) Put(key string, val []byte) error {
	err := m.c.update(func(txn *badger.Txn) error { return txn.Set(memoKey(m.ns, key), val) })
	if err != nil {
		return fmt.Errorf("cache %s: writing memo %s/%q: %w", m.c.dir, m.ns, key, err)
	}
	return m.c.sync()
}

// DropMemos deletes every memo of a namespace (GC never does: memos are not
// tied to an ActionID) and reports whether there was any.
func (c *Cache) DropMemos(namespace string) (bool, error) {
	prefix := memoKey(namespace, "")
	found := false
	c.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix})
		defer it.Close()
		it.Rewind()
		found = it.Valid()
		return nil
	})
	if !found {
		return false, nil
	}
	db, err := c.writeDB()
	if err != nil {
		return true, fmt.Errorf("cache %s: dropping memos of %s: %w", c.dir, namespace, err)
	}
	if err := guard(func() error { return db.DropPrefix(prefix) }); err != nil {
		return true, fmt.Errorf("cache %s: dropping memos of %s: %w", c.dir, namespace, err)
	}
	return true, c.sync()
}
