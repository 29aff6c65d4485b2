package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Rebuilding the index. A damaged index is moved aside to index.damaged, a
// fresh one is created, and every intact entry record (record.go) whose
// output folder still exists is put back, with the LastFor pointer of the
// newest entry of each stage. What only the index held is lost and costs
// time, never correctness: the stat cache (inputs are rehashed once), the
// output stat records (each output is rehashed at its next Get), memos
// (long stages restart from their first item) and build records (GC keeps
// entries by age alone until new builds are recorded). While a rebuild
// runs, the file index.rebuilding exists; an Open that finds it (the
// rebuild was killed) rebuilds again.

// Names next to index/ in the cache directory.
const (
	damagedIndexDir = "index.damaged"
	rebuildingMark  = "index.rebuilding"
	checkedTables   = "index.checked" // the tables checkIndex verified, by stat
)

// indexPath returns the index folder.
func (c *Cache) indexPath() string { return filepath.Join(c.dir, indexDir) }

// A rebuildReport says what a rebuild restored.
type rebuildReport struct {
	Restored int // entries put back
	Skipped  int // records that were unreadable or named a missing output folder
}

// rebuild replaces the index folder (not open) with one rebuilt from the
// entry records, and returns it open. cause says why; with report, the
// rebuild is reported through warn.
func (c *Cache) rebuild(cause error, report bool) (*badger.DB, rebuildReport, error) {
	var rep rebuildReport
	idx := c.indexPath()
	aside := filepath.Join(c.dir, damagedIndexDir)
	mark := filepath.Join(c.dir, rebuildingMark)
	if err := os.WriteFile(mark, []byte("a rebuild of index/ is under way; if no refeval runs, the next one redoes it\n"), 0o666); err != nil {
		return nil, rep, c.byHand(cause, err)
	}
	if err := RemoveTree(aside); err != nil {
		return nil, rep, c.byHand(cause, err)
	}
	os.Remove(filepath.Join(c.dir, checkedTables))
	if err := os.Rename(idx, aside); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, rep, c.byHand(cause, err)
	}
	if err := os.Mkdir(idx, 0o777); err != nil {
		return nil, rep, c.byHand(cause, err)
	}
	var db *badger.DB
	err := guard(func() error {
		var err error
		db, err = badger.Open(badgerOptions(idx))
		return err
	})
	if err != nil {
		return nil, rep, c.byHand(cause, err)
	}
	rep, err = c.importRecords(db)
	if err == nil {
		err = guard(db.Sync)
	}
	if err != nil {
		guard(db.Close)
		return nil, rep, fmt.Errorf("cache %s: rebuilding the damaged index: %w; remove %s by hand and run refeval again", c.dir, err, idx)
	}
	os.Remove(mark)
	if err := RemoveTree(aside); err != nil {
		c.warn(fmt.Sprintf("cannot remove the damaged index %s (%v); remove it by hand", aside, err))
	}
	if !report {
		return db, rep, nil
	}
	c.warn(fmt.Sprintf("cache index %s was damaged (%v); rebuilt it from the entry records in %s: %d entries restored, %d records skipped. "+
		"Stages whose entries were lost run again, and inputs and outputs are rehashed once",
		idx, strings.TrimPrefix(cause.Error(), errIndexDamaged.Error()+": "), filepath.Join(c.dir, entryDir), rep.Restored, rep.Skipped))
	return db, rep, nil
}

// byHand is the error of a rebuild that could not replace the index folder:
// it names the folder to remove by hand.
func (c *Cache) byHand(cause, err error) error {
	return fmt.Errorf("cache %s: the index is damaged (%v) and cannot be rebuilt: %w; remove %s and %s by hand (stages whose entries are lost run again), then run refeval again",
		c.dir, cause, err, c.indexPath(), filepath.Join(c.dir, damagedIndexDir))
}

// importRecords puts every intact entry record whose output folder exists
// into db, with a LastFor pointer to the newest entry of each stage.
func (c *Cache) importRecords(db *badger.DB) (rebuildReport, error) {
	var rep rebuildReport
	des, err := os.ReadDir(filepath.Join(c.dir, entryDir))
	if errors.Is(err, fs.ErrNotExist) {
		return rep, nil
	}
	if err != nil {
		return rep, err
	}
	type last struct {
		action  ID
		created time.Time
	}
	lasts := map[string]last{}
	var sum ID // of the records restored
	wb := db.NewWriteBatch()
	defer wb.Cancel()
	for _, d := range des {
		action, err := ParseID(d.Name())
		if err != nil {
			continue // a temp file of an interrupted write
		}
		p := filepath.Join(c.dir, entryDir, d.Name())
		b, err := os.ReadFile(p)
		var e *Entry
		if err == nil {
			e, err = decodeRecord(b)
		}
		if err == nil {
			_, err = os.Stat(c.OutputDir(e.OutputID))
		}
		if err != nil {
			rep.Skipped++
			os.Remove(p) // useless now; the record sum leaves it out
			continue
		}
		xorID(&sum, action)
		if fi, err := os.Stat(p); err == nil && fi.ModTime().After(e.LastUsed) {
			e.LastUsed = fi.ModTime()
		}
		v, err := encodeEntry(e)
		if err != nil {
			return rep, err
		}
		if err := wb.Set(actionKey(action), v); err != nil {
			return rep, err
		}
		rep.Restored++
		if e.Name != "" {
			k := string(lastKey(e.Scope, e.Name))
			if l, ok := lasts[k]; !ok || e.Created.After(l.created) {
				lasts[k] = last{action, e.Created}
			}
		}
	}
	for k, l := range lasts {
		if err := wb.Set([]byte(k), l.action[:]); err != nil {
			return rep, err
		}
	}
	if err := wb.Set([]byte(keyRecords), sum[:]); err != nil {
		return rep, err
	}
	return rep, guard(wb.Flush)
}

// restoreMissing puts back, into an index that opened intact but whose
// record sum does not match entry/, the entries of the records it lacks,
// and resets the record sum; memos and the stat cache stay. This is what a
// crash between a record and its entry, or Badger dropping the damaged
// end of a log, leaves. Records that cannot be read, or name a missing
// output folder, are removed.
func (c *Cache) restoreMissing(db *badger.DB, cause error) error {
	des, err := os.ReadDir(filepath.Join(c.dir, entryDir))
	if err != nil {
		return err
	}
	var rep rebuildReport
	var sum ID
	err = guard(func() error {
		return db.Update(func(txn *badger.Txn) error {
			for _, d := range des {
				action, err := ParseID(d.Name())
				if err != nil {
					continue
				}
				_, err = txn.Get(actionKey(action))
				if err == nil {
					xorID(&sum, action)
					continue
				}
				if !errors.Is(err, badger.ErrKeyNotFound) {
					return err
				}
				e, err := c.readRecord(action)
				if err == nil {
					_, err = os.Stat(c.OutputDir(e.OutputID))
				}
				if err != nil {
					rep.Skipped++
					os.Remove(c.recordPath(action))
					continue
				}
				v, err := encodeEntry(e)
				if err != nil {
					return err
				}
				if err := txn.Set(actionKey(action), v); err != nil {
					return err
				}
				rep.Restored++
				xorID(&sum, action)
			}
			return txn.Set([]byte(keyRecords), sum[:])
		})
	})
	if err == nil {
		err = guard(db.Sync)
	}
	if err != nil {
		return err
	}
	c.warn(fmt.Sprintf("cache index %s lacked entries that %s holds (%s); restored %d from their records, skipped %d. Stages whose entries were lost run again",
		c.indexPath(), filepath.Join(c.dir, entryDir), strings.TrimPrefix(cause.Error(), errIndexDamaged.Error()+": "), rep.Restored, rep.Skipped))
	return nil
}

// reopenRebuilt closes the open index, rebuilds it and reopens it. Call
// it only when no other goroutine uses the index (List, GC, Verify).
func (c *Cache) reopenRebuilt(cause error, report bool) (rebuildReport, error) {
	c.wrote.Store(true)
	c.upMu.Lock()
	defer c.upMu.Unlock()
	if old := c.db.Load(); old != nil {
		guard(old.Close)
	}
	if c.ro != nil && c.ro != c.db.Load() {
		guard(c.ro.Close)
	}
	c.ro = nil
	c.db.Store(nil)
	db, rep, err := c.rebuild(cause, report)
	if err != nil {
		return rep, err
	}
	c.db.Store(db)
	c.mu.Lock()
	c.damage = nil
	c.mu.Unlock()
	return rep, nil
}
