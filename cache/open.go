package cache

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/options"

	"github.com/refeval/refeval/internal/atomicfile"
)

// Options control Open.
type Options struct {
	// NoWait makes Open fail at once, with an error wrapping ErrLocked, if
	// another process holds the cache directory, instead of waiting for it.
	NoWait bool
	// Waiting, if set, is called once when Open starts waiting for the lock,
	// with a message such as "waiting for another refeval using DIR (pid N)".
	Waiting func(msg string)
	// Warn, if set, is called with each problem the cache works around (a
	// damaged index it rebuilt or reads past), once per problem; without it
	// they are printed to standard error, prefixed "refeval: ".
	Warn func(msg string)
}

// A Cache is an open cache directory. Its methods are safe for concurrent
// use by the goroutines of one process; only one process can have the
// directory open at a time.
type Cache struct {
	dir     string
	db      atomic.Pointer[badger.DB] // the index (readonly.go: replaced once if opened read-only)
	release func()

	upMu sync.Mutex // serializes reopening a read-only index for writing (writeDB)
	// ro is the index as opened read-only, nil if it was opened for
	// writing. After writeDB reopened it, ro stays open for readers that
	// loaded it before, until Close.
	ro *badger.DB
	// mustClose makes CloseForExit close Badger even if nothing was
	// written: the index was opened for writing only because a read-only
	// open failed, and Close leaves it in a state the next one accepts.
	mustClose bool

	// racyWindow is how recent a file's mtime or ctime may be for its
	// digest to be remembered in the stat cache (see statcache.go).
	racyWindow time.Duration
	// now is the clock, replaceable by tests.
	now func() time.Time

	warnf func(msg string) // Options.Warn

	// wrote is set by every write to the index since Open (and by an Open
	// that repaired it): CloseForExit closes Badger only if it is set.
	wrote atomic.Bool

	mu     sync.Mutex
	damage error            // the first damage met reading the index since it was opened (damage.go)
	temp   map[string]bool  // temp folders handed out by this Cache, not stale
	made   map[ID]bool      // outputs committed by this Cache, which GC keeps
	used   map[ID]time.Time // LastUsed of entries Get returned, so Touch need not reread them

	commitMu sync.Mutex // serializes the final rename of CommitOutput
	recMu    sync.Mutex // serializes changes to entry records and the record sum (record.go)
}

// Subfolders of the cache directory.
const (
	outDir   = "out"
	tmpDir   = "tmp"
	logDir   = "log"
	indexDir = "index"
	entryDir = "entry" // entry/<ActionID>: a copy of each index entry, to rebuild the index from (record.go)
	jobsDir  = "jobs"  // jobs/*: folders executors hand to stages run elsewhere (JobsDir)
)

// JobsDir returns the folder in which executors that run stages on other
// machines (executor/slurm) make each job's folder. A job's folder lives
// only while its stage runs; GC removes what a killed refeval left there.
func (c *Cache) JobsDir() string { return filepath.Join(c.dir, jobsDir) }

// Open opens the cache directory dir, creating it if needed, writes its
// README and takes its lock. If another process holds the lock, Open waits
// for it (calling opt.Waiting once) or, with opt.NoWait, returns an error
// wrapping ErrLocked that names the directory and the holder's pid.
//
// An index that is damaged (checkIndex) is rebuilt from the entry records
// and the rebuild reported through opt.Warn (rebuild.go). If the cache's
// file system has less than 32 MB free, Open fails with a *DiskFullError
// rather than let Badger crash on its memory-mapped files (space.go).
func Open(dir string, opt Options) (*Cache, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("cache %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o777); err != nil {
		return nil, fmt.Errorf("cache: cannot create cache directory: %w", err)
	}
	if err := checkSpace(abs, "open the cache index"); err != nil {
		return nil, err
	}
	for _, sub := range []string{"", outDir, tmpDir, logDir, indexDir, entryDir} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o777); err != nil {
			return nil, fmt.Errorf("cache: cannot create cache directory: %w", err)
		}
	}
	if err := writeREADME(abs); err != nil {
		return nil, err
	}
	c := &Cache{
		dir:        abs,
		racyWindow: modTimeCutoff,
		now:        time.Now,
		temp:       map[string]bool{},
		made:       map[ID]bool{},
		used:       map[ID]time.Time{},
		warnf:      opt.Warn,
	}
	c.release, err = acquire(abs, opt, func() error {
		if db := c.openReadOnly(); db != nil {
			c.ro = db
			c.db.Store(db)
			return nil
		}
		db, err := c.openIndex(true)
		if err != nil {
			return err
		}
		c.mustClose = true
		c.db.Store(db)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// openIndex opens the index folder for writing, under the lock. A damaged
// index (checkIndex fails, Badger fails or panics, or an earlier rebuild
// was interrupted) is rebuilt from the entry records. With checkSum, the
// index is also checked against the entry records (checkRecordSum) and
// entries it lacks are put back; writeDB, reopening an index Open checked
// so, passes false, since records this process has written since may be
// ahead of the index by one Put.
func (c *Cache) openIndex(checkSum bool) (*badger.DB, error) {
	idx := c.indexPath()
	if err := removeEmptyIndexFiles(idx); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(c.dir, rebuildingMark)); err == nil {
		c.wrote.Store(true)
		db, _, err := c.rebuild(errors.New("an earlier rebuild of the index was interrupted"), true)
		return db, err
	}
	var db *badger.DB
	var err error
	// Only under our own flock: where Badger's lock is the only one
	// (lock_other.go), another process may be writing these files.
	check := lockWritesPid && checkOnOpen
	if check {
		err = checkIndex(idx, filepath.Join(c.dir, checkedTables))
	}
	if err == nil {
		err = guard(func() error {
			var err error
			db, err = badger.Open(badgerOptions(idx))
			return err
		})
	}
	if err != nil && strings.Contains(err.Error(), "Cannot acquire directory lock") {
		return nil, errBusy
	}
	if err == nil && check && checkSum {
		if serr := c.checkRecordSum(db); serr != nil {
			c.wrote.Store(true)
			// The index is readable but lacks entries: put them back,
			// keeping memos and the stat cache; rebuild if that fails.
			if err = c.restoreMissing(db, serr); err != nil {
				guard(db.Close)
			}
		}
	}
	if err != nil {
		c.wrote.Store(true)
		db, _, err = c.rebuild(err, true)
	}
	return db, err
}

// removeEmptyIndexFiles deletes zero-byte memtable and value-log files from
// the index folder. A process killed while Badger creates one of them leaves
// it empty, and Badger then refuses to open the folder ("while opening fid:
// … Create a new file"; dgraph-io/badger#2207, fix proposed in #2331). An
// empty file holds no data, and Open runs this only while holding the lock,
// so no other process can be creating the file.
func removeEmptyIndexFiles(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("cache: reading index folder: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".mem") && !strings.HasSuffix(name, ".vlog") {
			continue
		}
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || info.Size() != 0 {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("cache: removing empty index file left by a killed process: %w", err)
		}
	}
	return nil
}

// Close closes the index and releases the lock.
func (c *Cache) Close() error {
	db := c.db.Load()
	if db == nil {
		return nil
	}
	var err error
	if c.damaged() == nil {
		err = guard(db.Close)
		if c.ro != nil && c.ro != db {
			guard(c.ro.Close) // the read-only index writeDB replaced
		}
	}
	// Else the damaged index is left unclosed, to be moved aside by the
	// rebuild: Badger's Close flushes the memtable and compacts level 0
	// into the damaged tables, on goroutines where a panic on their bytes
	// ends the process (no recover reaches them). Every entry is in its
	// record, which the rebuild reads; the process exits soon after, or
	// (watch) keeps the abandoned index's files open until it does.
	c.db.Store(nil)
	c.ro = nil
	if cause := c.damaged(); cause != nil {
		// Damage met while reading: rebuild now, under the lock.
		var db *badger.DB
		if db, _, err = c.rebuild(cause, false); err == nil {
			err = guard(db.Close)
		}
	}
	c.release()
	if err != nil {
		return fmt.Errorf("cache %s: closing index: %w", c.dir, err)
	}
	return nil
}

// CloseForExit is Close for a process that exits as soon as it returns.
// If nothing was written to the index since Open (a no-op build, a plan)
// and no damage was met, it leaves the index's files, which hold nothing
// new, and the lock for the exit to release, instead of closing Badger,
// which syncs every file it has mapped and the folder twice: about a
// third of a no-op build's wall time. Badger's next Open drops the empty
// memtable and value-log files it created, as after a killed process.
// Otherwise it is Close. Neither the Cache nor its folder may be used
// again by the process.
//
// On a nearly full disk it never closes Badger: Close flushes the memtable
// into a new table written through a memory map, and a page the file
// system cannot back kills the process with SIGBUS. Every entry is already
// in the synced write-ahead log (and in its entry record), so the flush is
// left to the next Open, as after a killed process, and the user is told.
func (c *Cache) CloseForExit() error {
	if c.db.Load() == nil {
		return nil
	}
	if err := checkSpace(c.dir, "flush the index"); err != nil {
		c.warn(err.Error() + "; the index is left for the next run to recover")
		return nil
	}
	if c.wrote.Load() || c.mustClose || c.damaged() != nil || !c.quiet() {
		return c.Close()
	}
	return nil
}

// quiet reports whether Badger has no compaction to run: level 0 holds
// fewer tables than start one. An exit without Close would interrupt it
// (Badger recovers, but the work is lost).
func (c *Cache) quiet() bool {
	var l0 int
	if err := guard(func() error {
		l0 = c.db.Load().Levels()[0].NumTables
		return nil
	}); err != nil {
		return false
	}
	return l0 < badgerOptions(c.indexPath()).NumLevelZeroTables
}

// Dir returns the absolute path of the cache directory.
func (c *Cache) Dir() string { return c.dir }

// badgerOptions sizes Badger for an index of at most a few hundred MB of
// small values: Badger's defaults (64 MB memtables ×5, a 1 GB value log
// preallocated at twice that, a 256 MB block cache) are tuned for
// databases of hundreds of GB. docs/cache.md records the resulting disk use.
func badgerOptions(dir string) badger.Options {
	return badger.DefaultOptions(dir).
		WithLogger(quietLogger{}).
		WithMetricsEnabled(false).
		WithDetectConflicts(false).
		WithMemTableSize(1 << 20).      // WAL file is 2× this; bigger ones cost every Open ~10 ms more
		WithNumMemtables(2).            // at most one flushing while one fills
		WithNumLevelZeroTables(2).      // flush to L1 early; keeps open files few
		WithCompactL0OnClose(true).     // so a short-lived process leaves none in L0 (CloseForExit)
		WithNumCompactors(2).           // the minimum Badger accepts
		WithBaseTableSize(1 << 20).     // small SSTs for a small index
		WithValueLogFileSize(64 << 20). // holds memo values > ValueThreshold; caps one value at 64 MB
		WithValueThreshold(64 << 10).   // bigger memo values go to the value log
		WithBlockCacheSize(8 << 20).
		WithChecksumVerificationMode(options.OnBlockRead). // damage found after Open is an error, not a panic
		WithIndexCacheSize(0).
		WithSyncWrites(false) // commits that must be durable call Sync (see sync)
}

// sync makes every committed write durable.
func (c *Cache) sync() error {
	db, err := c.writeDB()
	if err != nil {
		return err
	}
	if err := guard(db.Sync); err != nil {
		return fmt.Errorf("cache %s: syncing index: %w", c.dir, err)
	}
	return nil
}

// quietLogger drops Badger's info, debug and warning chatter (compaction,
// replay, …) and keeps errors, which go to stderr.
type quietLogger struct{}

func (quietLogger) Errorf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "refeval: cache index: "+strings.TrimRight(format, "\n")+"\n", args...)
}
func (quietLogger) Warningf(string, ...any) {}
func (quietLogger) Infof(string, ...any)    {}
func (quietLogger) Debugf(string, ...any)   {}

// writeREADME writes the README that tells a person what the directory is,
// unless it is already there with the same text.
func writeREADME(dir string) error {
	path := filepath.Join(dir, "README")
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, []byte(readme)) {
		return nil
	}
	// Written atomically: a second refeval opening the folder at the same
	// time (before the lock) never reads half of it.
	if err := atomicfile.WriteBytes(path, []byte(readme)); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	return nil
}

const readme = `This directory holds refeval's cache: the results of pipeline stages,
stored by content so that "refeval build" reruns only what changed.

  out/<id>/        one folder per distinct stage output, named by its OutputID;
                   files are read-only, shared by every stage that produced them
  index/           a Badger database: ActionID -> output manifest, the stat cache
                   of input digests, per-item memos and build history
  entry/<id>       a copy of the index entry of that ActionID, from which a
                   damaged index is rebuilt
  log/<id>.log     the log of the stage run with that ActionID
  tmp/             output folders of running stages; leftovers are removed by gc
  lock             held by the refeval process using this directory (its pid)

Only one refeval process can use the directory at a time. Use
"refeval cache ls", "refeval cache gc" and "refeval cache verify" to inspect,
trim and check it. It is safe to delete the whole directory when no refeval
is running: everything in it can be rebuilt.
`
