package cache

import (
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
)

// Opening the index read-only. Most runs of refeval only read the index: a
// plan, a no-op build. Opened for writing, Badger creates a memtable file
// and a value-log file and replays and truncates the previous ones on every
// Open, which was most of what opening an index cost (bench/plan.sh).
// Open therefore opens the index read-only when it can, and the first write
// (update, sync, the stat cache, GC) reopens it for writing (writeDB), once,
// exactly as Open would have opened it (openIndex: checked, repaired or
// rebuilt). Readers that loaded the read-only index before that keep using
// it: it is left open until Close and still reads what the index held when
// the Cache was opened, and every later read goes to the new one.
//
// Only the flock the Cache holds (lock_unix.go) keeps other processes out
// while the index is read-only: Badger's own lock, which the read-only open
// skips, is then taken by the reopen. Where that flock does not exist
// (lock_other.go), the index is always opened for writing.

// openReadOnly opens the index read-only, under the lock, or returns nil
// if it cannot: the index is new or damaged, holds entries its records
// lack (checkRecordSum), or was left by a process that did not close it
// (Badger then refuses a read-only open until the logs are replayed and
// truncated). Open then opens it for writing (openIndex), which repairs
// all of these.
func (c *Cache) openReadOnly() *badger.DB {
	if !lockWritesPid || !checkOnOpen {
		return nil
	}
	idx := c.indexPath()
	if _, err := os.Stat(filepath.Join(c.dir, rebuildingMark)); err == nil {
		return nil
	}
	if _, err := os.Stat(filepath.Join(idx, badger.ManifestFilename)); err != nil {
		return nil // a new index: the first write creates it
	}
	if err := removeEmptyIndexFiles(idx); err != nil {
		return nil
	}
	if err := checkIndex(idx, filepath.Join(c.dir, checkedTables)); err != nil {
		return nil
	}
	var db *badger.DB
	err := guard(func() error {
		var err error
		db, err = badger.Open(readOnlyOptions(idx))
		return err
	})
	if err != nil {
		return nil
	}
	if err := c.checkRecordSum(db); err != nil {
		guard(db.Close)
		return nil
	}
	return db
}

// readOnlyOptions are badgerOptions for a read-only open under the Cache's
// own lock. Badger's error log is dropped: a read-only open that fails
// falls back to openIndex, which reports what it repairs, and a read that
// fails is reported as damage (noteDamage).
func readOnlyOptions(dir string) badger.Options {
	return badgerOptions(dir).WithReadOnly(true).WithBypassLockGuard(true).WithLogger(silentLogger{})
}

// silentLogger drops all of Badger's messages.
type silentLogger struct{}

func (silentLogger) Errorf(string, ...any)   {}
func (silentLogger) Warningf(string, ...any) {}
func (silentLogger) Infof(string, ...any)    {}
func (silentLogger) Debugf(string, ...any)   {}

// writeDB returns the index for writing, reopening a read-only one first,
// and marks the Cache as written (CloseForExit then closes Badger).
func (c *Cache) writeDB() (*badger.DB, error) {
	c.wrote.Store(true)
	c.upMu.Lock()
	defer c.upMu.Unlock()
	db := c.db.Load()
	if db == nil || db != c.ro {
		return db, nil
	}
	rw, err := c.openIndex(false)
	if err != nil {
		return nil, err
	}
	c.db.Store(rw)
	return rw, nil
}
