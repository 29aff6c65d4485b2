package cache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// Index damage. A damaged index (a truncated or bit-flipped Badger file, a
// malformed record) must never stop a command or give a wrong hit: what
// cannot be read is a miss for the entries it affects. Open checks the
// index before Badger opens it (checkIndex) and rebuilds a damaged one from
// the entry records (rebuild.go); damage met later, while reading, is
// reported once, turns the affected reads into misses, and makes Close
// rebuild the index. Badger panics on some damaged files instead of
// returning an error (dgraph-io/badger table.OpenTable, block decoding):
// every call into it from this package goes through view or update, which
// turn a panic into an error.

// errIndexDamaged is wrapped by errors about index records that cannot be
// read. Get wraps it together with ErrCorrupt, so the engine treats the
// entry as a miss.
var errIndexDamaged = errors.New("index damaged")

// view runs fn in a Badger read transaction. A panic inside Badger becomes
// an error wrapping errIndexDamaged.
func (c *Cache) view(fn func(txn *badger.Txn) error) (err error) {
	defer recoverIndex(&err)
	defer faultsPanic()()
	return c.db.Load().View(fn)
}

// update runs fn in a Badger read-write transaction, as view does.
func (c *Cache) update(fn func(txn *badger.Txn) error) (err error) {
	if !c.writable() {
		return nil // frozen
	}
	db, err := c.writeDB()
	if err != nil {
		return err
	}
	defer recoverIndex(&err)
	defer faultsPanic()()
	return db.Update(fn)
}

// writable reports whether the index may still be written. Once damage has
// been met it is frozen: a write could fill a memtable whose flush, or a
// compaction it starts, reads the damaged tables on a Badger goroutine
// where a panic ends the process (no recover reaches it). Entries stay
// safe in their records, from which Close rebuilds the index; what only the
// index held (memos, stat records) is recomputed.
func (c *Cache) writable() bool { return c.damaged() == nil }

// guard runs fn, another call into Badger, turning a panic into an error.
func guard(fn func() error) (err error) {
	defer recoverIndex(&err)
	defer faultsPanic()()
	return fn()
}

// recoverIndex turns a panic (or, with SetPanicOnFault, a fault reading a
// damaged memory-mapped file) into an error wrapping errIndexDamaged.
func recoverIndex(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: Badger panicked: %s", errIndexDamaged, panicText(r))
	}
}

// panicText is a panic value as one short line: Badger's panics on damaged
// tables span several lines of debugging output.
func panicText(r any) string {
	s := fmt.Sprint(r)
	for _, junk := range []string{"== Recovering from initIndex crash ==", "== Recovered =="} {
		s = strings.ReplaceAll(s, junk, "")
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// faultsPanic makes a fault on a memory-mapped index file (a file truncated
// under Badger) panic in the calling goroutine, where recoverIndex catches
// it, instead of crashing the process. It returns the function that
// restores the previous setting.
func faultsPanic() func() {
	old := debug.SetPanicOnFault(true)
	return func() { debug.SetPanicOnFault(old) }
}

// noteDamage records that the index could not be read, reports it once
// (through Options.Warn), and makes Close rebuild the index. It returns
// err.
func (c *Cache) noteDamage(what string, err error) error {
	c.mu.Lock()
	first := c.damage == nil
	if first {
		c.damage = fmt.Errorf("%s: %w", what, err)
	}
	c.mu.Unlock()
	if first {
		c.warn(fmt.Sprintf("cache index %s is damaged (%s: %v); entries it cannot read are taken from their records in %s or count as not cached, and it is rebuilt from the entry records when refeval exits",
			c.indexPath(), what, strings.TrimPrefix(err.Error(), errIndexDamaged.Error()+": "), filepath.Join(c.dir, entryDir)))
	}
	return err
}

// damaged reports the first damage noted since the index was (re)opened.
func (c *Cache) damaged() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.damage
}

// warn reports a problem the cache worked around to the user: through
// Options.Warn, else on standard error.
func (c *Cache) warn(msg string) {
	if c.warnf != nil {
		c.warnf(msg)
		return
	}
	fmt.Fprintf(os.Stderr, "refeval: %s\n", msg)
}

// isIndexError reports whether err, from a Badger read, means the record
// could not be read (rather than that it is absent).
func isIndexError(err error) bool {
	return err != nil && !errors.Is(err, badger.ErrKeyNotFound)
}
