package cache

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// A VerifyReport lists what Verify found.
type VerifyReport struct {
	Outputs    int   // output folders rehashed
	Bytes      int64 // bytes rehashed
	Corrupt    []CorruptOutput
	Unreadable []ID // actions whose index entries cannot be read
}

// A CorruptOutput is an output folder that does not match its manifest, and
// the index entries that name it.
type CorruptOutput struct {
	OutputID ID
	Actions  []ID
	Names    []string // the Names of those entries (the engine: stage addresses)
	Err      error    // wraps ErrCorrupt and names the damaged files
}

// Verify rehashes every output folder that an index entry names and checks
// it against the manifest, and lists the entries that cannot be read. It
// changes nothing, except that an index Badger cannot read is rebuilt
// from the entry records (and that reported) as any command would; pass
// the report to Repair to drop the damaged entries.
func (c *Cache) Verify() (VerifyReport, error) {
	var rep VerifyReport
	entries, bad, err := c.entries()
	if err != nil {
		return rep, err
	}
	rep.Unreadable = bad
	byOutput := map[ID][]ID{}
	for action, e := range entries {
		byOutput[e.OutputID] = append(byOutput[e.OutputID], action)
	}
	ids := make([]ID, 0, len(byOutput))
	for id := range byOutput {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b ID) int { return strings.Compare(a.String(), b.String()) })
	for _, id := range ids {
		actions := byOutput[id]
		slices.SortFunc(actions, func(a, b ID) int { return strings.Compare(a.String(), b.String()) })
		files := entries[actions[0]].Files
		rep.Outputs++
		for _, f := range files {
			rep.Bytes += f.Size
		}
		if err := c.VerifyOutput(id, files); err != nil {
			co := CorruptOutput{OutputID: id, Actions: actions, Err: err}
			for _, a := range actions {
				co.Names = append(co.Names, entries[a].Name)
			}
			rep.Corrupt = append(rep.Corrupt, co)
		}
	}
	return rep, nil
}

// Repair deletes the index entries and output folders of the corrupt
// outputs in rep, so that the next build reruns those stages, and the
// entries that cannot be read; an unreadable entry whose record
// (record.go) is intact is put back from it instead.
func (c *Cache) Repair(rep VerifyReport) error {
	var keys [][]byte
	gone := map[ID]bool{}
	var records []ID
	for _, a := range rep.Unreadable {
		if c.restoreEntry(a) == nil {
			continue
		}
		keys = append(keys, actionKey(a))
		gone[a] = true
		records = append(records, a)
	}
	for _, co := range rep.Corrupt {
		keys = append(keys, outStatKey(co.OutputID))
		for _, a := range co.Actions {
			keys = append(keys, actionKey(a))
			gone[a] = true
			records = append(records, a)
		}
	}
	lasts, err := c.danglingLasts(func(a ID) bool { return gone[a] })
	if err != nil {
		return fmt.Errorf("cache %s: repair: %w", c.dir, err)
	}
	if err := c.deleteKeys(append(keys, lasts...)); err != nil {
		return err
	}
	if err := c.removeRecords(records); err != nil {
		return err
	}
	for _, co := range rep.Corrupt {
		if err := RemoveTree(c.OutputDir(co.OutputID)); err != nil {
			return fmt.Errorf("cache %s: repair: %w", c.dir, err)
		}
		for _, a := range co.Actions {
			os.Remove(c.LogPath(a))
		}
	}
	return nil
}

// restoreEntry puts action's entry back into the index from its record, if
// the record is intact and its output folder exists.
func (c *Cache) restoreEntry(action ID) error {
	e, err := c.readRecord(action)
	if err != nil {
		return err
	}
	if _, err := os.Stat(c.OutputDir(e.OutputID)); err != nil {
		return err
	}
	v, err := encodeEntry(e)
	if err != nil {
		return err
	}
	if err := c.update(func(txn *badger.Txn) error { return txn.Set(actionKey(action), v) }); err != nil {
		return err
	}
	return c.sync()
}
