package cache

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// A ListItem describes one index entry.
type ListItem struct {
	Action ID
	Entry  *Entry
	Size   int64 // bytes of its output files plus its log; outputs shared by several entries count for each
}

// List returns every index entry, sorted by Scope, Name and then most
// recent use first.
func (c *Cache) List() ([]ListItem, error) {
	items, _, err := c.ListAll()
	return items, err
}

// ListAll is List that also returns the actions whose index entries cannot
// be read (GC and `refeval cache verify --repair` drop them).
func (c *Cache) ListAll() ([]ListItem, []ID, error) {
	entries, bad, err := c.entries()
	if err != nil {
		return nil, nil, err
	}
	items := make([]ListItem, 0, len(entries))
	for action, e := range entries {
		var size int64
		for _, f := range e.Files {
			size += f.Size
		}
		if fi, err := os.Stat(c.LogPath(action)); err == nil {
			size += fi.Size()
		}
		items = append(items, ListItem{Action: action, Entry: e, Size: size})
	}
	sortIDs(bad)
	slices.SortFunc(items, func(a, b ListItem) int {
		if c := strings.Compare(a.Entry.Scope, b.Entry.Scope); c != 0 {
			return c
		}
		if c := strings.Compare(a.Entry.Name, b.Entry.Name); c != 0 {
			return c
		}
		if c := b.Entry.LastUsed.Compare(a.Entry.LastUsed); c != 0 {
			return c
		}
		return bytes.Compare(a.Action[:], b.Action[:])
	})
	return items, bad, nil
}

// entries reads the whole index. Entries whose value does not decode are
// listed in bad. If Badger cannot read the index, it is rebuilt from the
// entry records (and that reported) and read again.
func (c *Cache) entries() (map[ID]*Entry, []ID, error) {
	if cause := c.damaged(); cause != nil {
		if err := c.healAfter("earlier", cause); err != nil {
			return nil, nil, err
		}
	}
	entries, bad, err := c.scanEntries()
	if err == nil {
		// A damaged block can also end a scan early without an error:
		// every record must have its entry.
		err = c.checkScan(entries, bad)
	}
	if err != nil {
		if err = c.healAfter("reading the index", err); err == nil {
			entries, bad, err = c.scanEntries()
		}
	}
	if err != nil {
		return nil, nil, fmt.Errorf("cache %s: reading index: %w", c.dir, err)
	}
	return entries, bad, nil
}

// checkScan returns an error if a record in entry/ names an action that
// is neither in entries nor in bad.
func (c *Cache) checkScan(entries map[ID]*Entry, bad []ID) error {
	f, err := os.Open(filepath.Join(c.dir, entryDir))
	if err != nil {
		return nil
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil
	}
	missing := 0
	for _, name := range names {
		if id, err := ParseID(name); err == nil && entries[id] == nil && !slices.Contains(bad, id) {
			missing++
		}
	}
	if missing > 0 {
		return fmt.Errorf("%w: %d entries with records in %s are missing from it", errIndexDamaged, missing, filepath.Join(c.dir, entryDir))
	}
	return nil
}

// healAfter reports damage met while scanning the index and rebuilds it.
func (c *Cache) healAfter(what string, err error) error {
	_, rerr := c.reopenRebuilt(fmt.Errorf("%s: %w", what, err), true)
	return rerr
}

func (c *Cache) scanEntries() (map[ID]*Entry, []ID, error) {
	entries := map[ID]*Entry{}
	var bad []ID
	err := c.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixAction), PrefetchValues: true, PrefetchSize: 100})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			var action ID
			k := item.Key()
			if len(k) != len(prefixAction)+len(action) {
				continue
			}
			copy(action[:], k[len(prefixAction):])
			v, err := item.ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("entry %s: %w", action, err)
			}
			e, err := decodeEntry(v)
			if err != nil {
				bad = append(bad, action)
				continue
			}
			entries[action] = e
		}
		return nil
	})
	return entries, bad, err
}

// GCOptions say what GC keeps. An entry is kept if either rule keeps it.
type GCOptions struct {
	KeepBuilds int           // keep the entries used by the last KeepBuilds builds of each pipeline (see RecordBuild)
	OlderThan  time.Duration // keep entries used within this long; 0 keeps none by age
	DryRun     bool          // report what would be removed, remove nothing
}

// Defaults for `refeval cache gc` and automatic trimming. Five days is
// cmd/go's trimLimit: long enough to survive a weekend; three builds keep
// an A/B sweep and its baseline.
const (
	DefaultKeepBuilds = 3
	DefaultOlderThan  = 5 * 24 * time.Hour
)

// A GCReport says what GC removed (or, with DryRun, would remove).
type GCReport struct {
	DryRun      bool
	Entries     int   // index entries removed (Unreadable included)
	Unreadable  int   // index entries removed because they could not be read
	Kept        int   // index entries kept
	Outputs     int   // output folders removed (no kept entry references them)
	Temps       int   // stale temp folders and job folders removed
	Logs        int   // logs removed
	Builds      int   // build records removed
	StatRecords int   // stat-cache records of files that no longer exist
	Bytes       int64 // bytes of files removed from disk
}

// GC removes index entries that neither rule of opt keeps, output folders
// that no remaining entry references, temp folders not made by this Cache
// (only one process uses the directory, so the rest are leftovers of
// crashed runs), logs of removed entries, build records older than the last
// KeepBuilds builds, and stat-cache records of files that no longer exist.
// Outputs committed through this Cache are kept even if no entry names
// them yet, so GC may run while stages are between CommitOutput and Put.
func (c *Cache) GC(opt GCOptions) (GCReport, error) {
	rep := GCReport{DryRun: opt.DryRun}
	entries, bad, err := c.entries()
	if err != nil {
		return rep, err
	}
	keep, oldBuilds, err := c.keptByBuilds(opt.KeepBuilds)
	if err != nil {
		return rep, err
	}
	cutoff := c.now().Add(-opt.OlderThan)
	kept := func(action ID) bool {
		e := entries[action]
		return e != nil && (keep[action] || (opt.OlderThan > 0 && e.LastUsed.After(cutoff)))
	}
	var drop [][]byte
	outputs := map[ID]bool{}
	for action, e := range entries {
		if kept(action) {
			rep.Kept++
			outputs[e.OutputID] = true
			continue
		}
		rep.Entries++
		drop = append(drop, actionKey(action))
	}
	for _, action := range bad {
		rep.Entries++
		rep.Unreadable++
		drop = append(drop, actionKey(action))
	}
	lasts, err := c.danglingLasts(func(a ID) bool { return !kept(a) })
	if err != nil {
		return rep, err
	}
	drop = append(drop, lasts...)
	rep.Builds = len(oldBuilds)
	drop = append(drop, oldBuilds...)
	stale, err := c.staleStats()
	if err != nil {
		return rep, err
	}
	rep.StatRecords = len(stale)
	drop = append(drop, stale...)
	c.mu.Lock()
	for id := range c.made {
		outputs[id] = true
	}
	c.mu.Unlock()
	outStats, err := c.keysOf(prefixOutStat, func(k []byte) bool {
		var id ID
		copy(id[:], k[len(prefixOutStat):])
		return !outputs[id]
	})
	if err != nil {
		return rep, err
	}
	drop = append(drop, outStats...)
	if !opt.DryRun {
		if err := c.deleteKeys(drop); err != nil {
			return rep, err
		}
	}

	// Files: unreferenced outputs, stale temps, logs of removed entries.
	remove := func(p string) {
		rep.Bytes += treeSize(p)
		if !opt.DryRun {
			RemoveTree(p)
		}
	}
	if des, err := os.ReadDir(filepath.Join(c.dir, outDir)); err == nil {
		for _, d := range des {
			if id, err := ParseID(d.Name()); err == nil && !outputs[id] {
				rep.Outputs++
				remove(filepath.Join(c.dir, outDir, d.Name()))
			}
		}
	}
	if des, err := os.ReadDir(filepath.Join(c.dir, tmpDir)); err == nil {
		c.mu.Lock()
		live := maps.Clone(c.temp)
		c.mu.Unlock()
		for _, d := range des {
			if !live[d.Name()] {
				rep.Temps++
				remove(filepath.Join(c.dir, tmpDir, d.Name()))
			}
		}
	}
	// Job folders live only while their stage runs, and GC runs under the
	// lock with no stage running (after a build's walk, or as cache gc): what
	// is there was left by a refeval killed while its jobs ran.
	if des, err := os.ReadDir(c.JobsDir()); err == nil {
		for _, d := range des {
			rep.Temps++
			remove(filepath.Join(c.JobsDir(), d.Name()))
		}
	}
	if des, err := os.ReadDir(filepath.Join(c.dir, entryDir)); err == nil && !opt.DryRun {
		var gone []ID
		for _, d := range des {
			// Records of removed entries, and leftovers of interrupted writes.
			id, err := ParseID(d.Name())
			if err == nil && !kept(id) {
				gone = append(gone, id)
			} else if fi, ierr := d.Info(); err != nil && ierr == nil && c.now().Sub(fi.ModTime()) > time.Hour {
				os.Remove(filepath.Join(c.dir, entryDir, d.Name())) // not a write in progress
			}
		}
		if err := c.removeRecords(gone); err != nil {
			return rep, err
		}
	}
	if des, err := os.ReadDir(filepath.Join(c.dir, logDir)); err == nil {
		for _, d := range des {
			id, err := ParseID(strings.TrimSuffix(d.Name(), ".log"))
			if err != nil {
				continue
			}
			if !kept(id) {
				rep.Logs++
				remove(filepath.Join(c.dir, logDir, d.Name()))
			}
		}
	}
	if !opt.DryRun {
		// Reclaim value-log space of deleted memos; ErrNoRewrite ends the loop.
		db, err := c.writeDB()
		if err != nil {
			return rep, err
		}
		for guard(func() error { return db.RunValueLogGC(0.5) }) == nil {
		}
	}
	return rep, nil
}

// keptByBuilds returns the actions of the last n builds of each pipeline,
// and the keys of the older build records.
func (c *Cache) keptByBuilds(n int) (map[ID]bool, [][]byte, error) {
	keep := map[ID]bool{}
	var old [][]byte
	err := c.view(func(txn *badger.Txn) error {
		// Keys sort by pipeline, then time: walk backwards so the newest
		// builds of each pipeline come first.
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixBuild), Reverse: true, PrefetchValues: true})
		defer it.Close()
		seen := map[string]int{}
		for it.Seek(append([]byte(prefixBuild), 0xff)); it.Valid(); it.Next() {
			item := it.Item()
			k := item.KeyCopy(nil)
			pipeline, _, ok := bytes.Cut(k[len(prefixBuild):], []byte{0})
			if !ok {
				continue
			}
			p := string(pipeline)
			if seen[p] >= n {
				old = append(old, k)
				continue
			}
			v, err := item.ValueCopy(nil)
			if err != nil {
				return fmt.Errorf("build record of %s: %w", p, err)
			}
			var rec buildRecord
			if json.Unmarshal(v, &rec) != nil {
				old = append(old, k) // malformed: drop it, keep nothing by it
				continue
			}
			seen[p]++
			for _, a := range rec.Actions {
				keep[a] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("cache %s: reading builds: %w", c.dir, err)
	}
	return keep, old, nil
}

// danglingLasts returns the LastFor records that point at actions for which
// gone reports true.
func (c *Cache) danglingLasts(gone func(ID) bool) ([][]byte, error) {
	var keys [][]byte
	err := c.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixLast), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var a ID
			ok := false
			it.Item().Value(func(v []byte) error { ok = len(v) == len(a); copy(a[:], v); return nil })
			if !ok || gone(a) {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
		}
		return nil
	})
	return keys, err
}

// keysOf returns the keys with the given prefix for which drop reports true.
func (c *Cache) keysOf(prefix string, drop func(key []byte) bool) ([][]byte, error) {
	var keys [][]byte
	err := c.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if k := it.Item().Key(); drop(k) {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cache %s: reading %s records: %w", c.dir, prefix, err)
	}
	return keys, nil
}

// staleStats returns the stat-cache records of paths that no longer exist.
func (c *Cache) staleStats() ([][]byte, error) {
	var keys [][]byte
	err := c.view(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixStat)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			k := it.Item().Key()
			if _, err := os.Lstat(string(k[len(prefixStat):])); errors.Is(err, fs.ErrNotExist) {
				keys = append(keys, it.Item().KeyCopy(nil))
			}
		}
		return nil
	})
	return keys, err
}

func (c *Cache) deleteKeys(keys [][]byte) error {
	if len(keys) == 0 || !c.writable() {
		return nil
	}
	db, err := c.writeDB()
	if err != nil {
		return fmt.Errorf("cache %s: deleting index records: %w", c.dir, err)
	}
	err = guard(func() error {
		wb := db.NewWriteBatch()
		defer wb.Cancel()
		for _, k := range keys {
			if err := wb.Delete(k); err != nil {
				return err
			}
		}
		return wb.Flush()
	})
	if err != nil {
		return fmt.Errorf("cache %s: deleting index records: %w", c.dir, err)
	}
	return c.sync()
}

// treeSize returns the bytes of the regular files under p.
func treeSize(p string) int64 {
	var n int64
	filepath.WalkDir(p, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// RemoveTree removes p and everything below it, first making folders
// writable (a stage may have left read-only folders in its output).
func RemoveTree(p string) error {
	filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(q, 0o755)
		}
		return nil
	})
	return os.RemoveAll(p)
}

// trimInterval is how often TrimIfDue runs GC: cmd/go trims its cache at
// most daily (cmd/go/internal/cache/cache.go trimInterval).
const trimInterval = 24 * time.Hour

// TrimIfDue runs GC with opt if it has not run (through TrimIfDue) in the
// last 24 hours, and reports whether it ran. The engine may call it at the
// end of every build, as go build trims its cache.
func (c *Cache) TrimIfDue(opt GCOptions) (bool, GCReport, error) {
	now := c.now()
	var last time.Time
	c.view(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(keyTrimmed))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error { return last.UnmarshalBinary(v) })
	})
	if now.Sub(last) < trimInterval {
		return false, GCReport{}, nil
	}
	rep, err := c.GC(opt)
	if err != nil || opt.DryRun {
		return true, rep, err
	}
	v, _ := now.MarshalBinary()
	if err := c.update(func(txn *badger.Txn) error { return txn.Set([]byte(keyTrimmed), v) }); err != nil {
		return true, rep, fmt.Errorf("cache %s: recording trim time: %w", c.dir, err)
	}
	return true, rep, nil
}

// sortIDs sorts ids by their bytes.
func sortIDs(ids []ID) {
	slices.SortFunc(ids, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
}
