package cache

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Each calls fn with every key and value of the memo's namespace, in key
// order, stopping at the first error: for handing a stage's memos to a job
// on another machine, which cannot open the index.
func (m *Memo) Each(fn func(key string, val []byte) error) error {
	prefix := memoKey(m.ns, "")
	err := m.c.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			val, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			if err := fn(string(item.Key()[len(prefix):]), val); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cache %s: reading memos of %s: %w", m.c.dir, m.ns, err)
	}
	return nil
}
