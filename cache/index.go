package cache

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// ErrNotFound is returned (unwrapped) by Get and LastFor when the index has
// no entry.
var ErrNotFound = errors.New("cache: no entry")

// ErrCorrupt is wrapped by errors about cached outputs that are missing or
// do not match their manifest. The engine treats such an entry as a miss.
var ErrCorrupt = errors.New("cache: corrupt output")

// A File is one file of an output folder.
type File struct {
	Name   string      // slash-separated path relative to the output folder; folders are implied
	Size   int64       // bytes
	Digest ID          // content digest (see digest.go)
	Mode   fs.FileMode // only the executable bits matter; CommitOutput stores 0o444 or 0o555
}

// An Entry is what the index records for one ActionID. The cache knows
// what its caller's actions are only by the two names it is given and an
// opaque description it keeps as is.
type Entry struct {
	OutputID ID
	Files    []File // the manifest, sorted by Name

	// Name and Scope are the caller's names for what made the entry (the
	// engine: the stage address and the pipeline file). The cache keeps a
	// pointer from (Scope, Name) to the newest entry (LastFor), lists
	// entries in their order and names an entry by Name in messages; it
	// reads nothing into them.
	Name, Scope string `json:",omitempty"`
	// Meta is the caller's own description of the action, as JSON, kept
	// as is (the engine: kind, configuration, input digests and upstream
	// outputs, which plan compares to say what changed; engine/entrymeta.go).
	Meta json.RawMessage `json:",omitempty"`

	Created, LastUsed time.Time
	Duration          time.Duration // how long the action ran
}

// touchInterval is how stale LastUsed may get before Touch rewrites it: it
// only needs to be accurate enough for trimming by age (cmd/go's
// mtimeInterval, cmd/go/internal/cache/cache.go, uses 1 hour for the same
// reason: one write per entry per hour at most, not one per build).
const touchInterval = 1 * time.Hour

// Get returns the entry for action. It returns ErrNotFound if there is none,
// and an error wrapping ErrCorrupt if the entry's output folder is missing,
// or a file in it is missing, has the wrong size or exec bit, or has a stat
// other than the one recorded at commit and a content other than the
// manifest's (outstat.go: one stat per file; a file is reread only when its
// stat changed; VerifyOutput rehashes everything). With ErrCorrupt it also
// returns the entry, so that the caller can say which stage's output was
// damaged.
func (c *Cache) Get(action ID) (*Entry, error) {
	e, rec, err := c.readEntry(action, true)
	if err != nil {
		return nil, err
	}
	if err := c.checkOutput(e.OutputID, e.Files, rec); err != nil {
		return e, err
	}
	c.mu.Lock()
	c.used[action] = e.LastUsed
	c.mu.Unlock()
	return e, nil
}

// getEntry reads the entry without checking its output.
func (c *Cache) getEntry(action ID) (*Entry, error) {
	e, _, err := c.readEntry(action, false)
	return e, err
}

// readEntry reads and decodes action's entry and, with stats, its output's
// stat record. It returns ErrNotFound if there is none. An entry that
// cannot be read (Badger fails or panics on a damaged file, or the value
// does not decode) is read from its record (record.go) instead; without
// an intact record it is an error wrapping ErrCorrupt, so that the engine
// runs the stage again and its Put replaces the entry. Damage to the index
// itself is also reported once (noteDamage).
func (c *Cache) readEntry(action ID, stats bool) (*Entry, []statKey, error) {
	var raw []byte
	var rec []statKey
	var e *Entry
	var derr error // decoding raw, once: the JSON is most of what a Get costs
	err := c.view(func(txn *badger.Txn) error {
		item, err := txn.Get(actionKey(action))
		if err != nil {
			return err
		}
		if raw, err = item.ValueCopy(nil); err != nil {
			return err
		}
		if e, derr = decodeEntry(raw); derr == nil && stats {
			rec = readOutStats(txn, e.OutputID, len(e.Files))
		}
		return nil
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		// Every record has its entry (Put writes the record first, GC
		// and Repair remove it last, and Open checks the record sum), so
		// an entry missing beside an intact record was lost by the index:
		// a damaged block can read as "not found".
		if e, rerr := c.readRecord(action); rerr == nil {
			c.noteDamage("reading entry "+action.String(), fmt.Errorf("%w: not found, but its record is intact", errIndexDamaged))
			return e, nil, nil
		}
		return nil, nil, ErrNotFound
	}
	if err == nil {
		if err = derr; err == nil {
			return e, rec, nil
		}
	} else {
		c.noteDamage("reading entry "+action.String(), err)
	}
	// The entry's record, if intact, stands in for it (without a stat
	// record: the output is rehashed).
	if e, rerr := c.readRecord(action); rerr == nil {
		return e, nil, nil
	}
	return nil, nil, fmt.Errorf("cache %s: index entry %s is unreadable (%v): %w", c.dir, action, err, ErrCorrupt)
}

// Put records e as the entry for action and as the last entry of
// (e.Scope, e.Name) for LastFor. Call it after CommitOutput: the index
// entry is written last, so that it never names an output that is not on
// disk. Put fills e.Created and e.LastUsed if they are zero. The entry is
// durable when Put returns.
func (c *Cache) Put(action ID, e *Entry) error {
	if e == nil {
		return fmt.Errorf("cache: Put %s: nil entry", action)
	}
	if e.OutputID.IsZero() {
		return fmt.Errorf("cache: Put %s: entry has no OutputID; commit the output folder first", action)
	}
	if _, err := os.Stat(c.OutputDir(e.OutputID)); err != nil {
		return fmt.Errorf("cache: Put %s: output folder %s is missing; commit it with CommitOutput first", action, c.OutputDir(e.OutputID))
	}
	if err := checkSpace(c.dir, "record an output in the index"); err != nil {
		return err
	}
	now := c.now()
	if e.Created.IsZero() {
		e.Created = now
	}
	if e.LastUsed.IsZero() {
		e.LastUsed = now
	}
	v, err := encodeEntry(e)
	if err != nil {
		return fmt.Errorf("cache: Put %s: %w", action, err)
	}
	// The record first: a crash before the index write leaves a record
	// that the next Open restores, and its output is already durable.
	c.recMu.Lock()
	defer c.recMu.Unlock()
	_, statErr := os.Stat(c.recordPath(action))
	if err := c.writeRecord(action, e); err != nil {
		return fmt.Errorf("cache %s: writing entry record %s: %w", c.dir, action, err)
	}
	err = c.update(func(txn *badger.Txn) error {
		if err := txn.Set(actionKey(action), v); err != nil {
			return err
		}
		if statErr != nil { // a new record
			if err := flipRecordSum(txn, action); err != nil {
				return err
			}
		}
		if e.Name != "" {
			return txn.Set(lastKey(e.Scope, e.Name), action[:])
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("cache %s: writing entry %s: %w", c.dir, action, err)
	}
	return c.sync()
}

// Touch marks action's entry as used now, but writes only if the recorded
// LastUsed is more than an hour old. It returns ErrNotFound if there is no
// entry.
func (c *Cache) Touch(action ID) error {
	now := c.now()
	c.mu.Lock()
	last, ok := c.used[action]
	c.mu.Unlock()
	if ok && now.Sub(last) < touchInterval {
		return nil // Get just read the entry: no need to read it again
	}
	e, err := c.getEntry(action)
	if err != nil {
		return err
	}
	return c.touch(action, e, now)
}

// TouchEntry is Touch for the entry e that Get just returned for action:
// it does not read and decode the entry again.
func (c *Cache) TouchEntry(action ID, e *Entry) error {
	return c.touch(action, e, c.now())
}

// touch writes e, action's entry, back with LastUsed now if the recorded
// one is more than touchInterval old; e itself is not changed.
func (c *Cache) touch(action ID, e *Entry, now time.Time) error {
	if now.Sub(e.LastUsed) < touchInterval {
		return nil
	}
	cp := *e
	e = &cp
	e.LastUsed = now
	v, err := encodeEntry(e)
	if err != nil {
		return err
	}
	if err := c.update(func(txn *badger.Txn) error { return txn.Set(actionKey(action), v) }); err != nil {
		return fmt.Errorf("cache %s: touching entry %s: %w", c.dir, action, err)
	}
	c.touchRecord(action, now)
	c.mu.Lock()
	c.used[action] = now
	c.mu.Unlock()
	return nil
}

// LastFor returns the most recently Put entry named name in scope (the
// engine: a stage address of a pipeline file), so that `plan` can say why
// an action is new (which config, input or upstream changed). It returns
// ErrNotFound if there is none, or if the record or its entry cannot be
// read.
func (c *Cache) LastFor(scope, name string) (ID, *Entry, error) {
	var action ID
	err := c.view(func(txn *badger.Txn) error {
		item, err := txn.Get(lastKey(scope, name))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) != len(action) {
				return fmt.Errorf("malformed last-entry record for %s", name)
			}
			copy(action[:], v)
			return nil
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return ID{}, nil, ErrNotFound
	}
	if errors.Is(err, errIndexDamaged) {
		c.noteDamage("reading the last entry of "+name, err)
		return ID{}, nil, ErrNotFound
	}
	if err != nil {
		return ID{}, nil, ErrNotFound // a malformed record: as if there were none
	}
	e, err := c.getEntry(action)
	if err != nil {
		return ID{}, nil, ErrNotFound
	}
	return action, e, nil
}

// A buildRecord lists the actions of one build of a pipeline.
type buildRecord struct {
	Time    time.Time
	Actions []ID
}

// RecordBuild records that a build of pipeline used actions. GC keeps the
// entries of the last GCOptions.KeepBuilds builds of each pipeline. A build
// that used the same actions as the pipeline's last recorded build (a no-op
// build, say) writes nothing: it would only push older, different builds
// out of the last KeepBuilds.
func (c *Cache) RecordBuild(pipeline string, actions []ID) error {
	actions = slices.Clone(actions)
	slices.SortFunc(actions, func(a, b ID) int { return bytes.Compare(a[:], b[:]) })
	actions = slices.Compact(actions)
	if same, err := c.sameAsLastBuild(pipeline, actions); err != nil || same {
		return err
	}
	now := c.now()
	v, err := json.Marshal(buildRecord{Time: now, Actions: actions})
	if err != nil {
		return err
	}
	if err := c.update(func(txn *badger.Txn) error { return txn.Set(buildKey(pipeline, now.UnixNano()), v) }); err != nil {
		return fmt.Errorf("cache %s: recording build of %s: %w", c.dir, pipeline, err)
	}
	return c.sync()
}

// sameAsLastBuild reports whether the last recorded build of pipeline used
// exactly actions (sorted, without duplicates).
func (c *Cache) sameAsLastBuild(pipeline string, actions []ID) (bool, error) {
	same := false
	err := c.view(func(txn *badger.Txn) error {
		prefix := buildPrefix(pipeline)
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, Reverse: true, PrefetchValues: false})
		defer it.Close()
		it.Seek(append(slices.Clone(prefix), 0xff))
		if !it.Valid() {
			return nil
		}
		return it.Item().Value(func(v []byte) error {
			var rec buildRecord
			if err := json.Unmarshal(v, &rec); err != nil {
				return nil // malformed: write a new one
			}
			same = slices.Equal(rec.Actions, actions)
			return nil
		})
	})
	if err != nil {
		c.noteDamage("reading the last build of "+pipeline, err)
		return false, nil // record this build anyway
	}
	return same, nil
}

// OutputDir returns the folder holding the output with the given OutputID:
// <dir>/out/<hex>.
func (c *Cache) OutputDir(id ID) string { return filepath.Join(c.dir, outDir, id.String()) }

// LogPath returns where the log of action's run is kept: <dir>/log/<hex>.log.
func (c *Cache) LogPath(action ID) string {
	return filepath.Join(c.dir, logDir, action.String()+".log")
}

// cleanName reports whether name is a clean, relative, slash-separated path
// inside a folder.
func cleanName(name string) bool {
	return name != "" && name != "." && path.Clean(name) == name && !path.IsAbs(name) &&
		name != ".." && !hasDotDotPrefix(name)
}

func hasDotDotPrefix(name string) bool { return len(name) >= 3 && name[:3] == "../" }
