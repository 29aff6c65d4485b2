package cache

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/zeebo/blake3"

	"github.com/refeval/refeval/internal/atomicfile"
)

// Entry records. Put writes each entry twice: into the index, and as a
// small file entry/<ActionID> next to the output folders, so that a damaged
// index can be rebuilt from the folder alone (rebuild.go). A record is the
// line "refeval entry v1 <BLAKE3 of the JSON>" followed by the entry's
// JSON; a record whose digest or manifest does not check is skipped. An
// output folder is shared by every action that produced it, so the
// records are per action rather than inside the output folders.

// recordHeader starts every entry record.
const recordHeader = "refeval entry v1 "

// encodeEntry returns the index value of an entry (its JSON).
func encodeEntry(e *Entry) ([]byte, error) { return json.Marshal(e) }

// DecodeEntry decodes an entry as the index stores it (and a remote cache
// holds it) and checks it as decodeEntry does: an entry from elsewhere
// never names another output, or a file outside the output folder.
func DecodeEntry(b []byte) (*Entry, error) { return decodeEntry(b) }

// decodeEntry decodes an index value and checks that it describes an
// output: a non-zero OutputID that is the digest of its manifest, whose
// names are clean, sorted and unique. Any damage to the value's JSON, IDs
// or manifest is an error, never an entry naming another output.
func decodeEntry(b []byte) (*Entry, error) {
	var e Entry
	if !decodeEntryFast(b, &e) {
		e = Entry{}
		if err := decodeEntryJSON(b, &e); err != nil {
			return nil, fmt.Errorf("malformed entry: %v", err)
		}
	}
	if e.OutputID.IsZero() {
		return nil, errors.New("malformed entry: no OutputID")
	}
	for i, f := range e.Files {
		if !cleanName(f.Name) {
			return nil, fmt.Errorf("malformed entry: manifest names %q, not a path inside the output folder", f.Name)
		}
		if i > 0 && strings.Compare(e.Files[i-1].Name, f.Name) >= 0 {
			return nil, fmt.Errorf("malformed entry: manifest not sorted at %q", f.Name)
		}
		if f.Size < 0 {
			return nil, fmt.Errorf("malformed entry: %s has %d bytes", f.Name, f.Size)
		}
	}
	if OutputIDOf(e.Files) != e.OutputID {
		return nil, fmt.Errorf("malformed entry: its manifest does not hash to its OutputID %s", e.OutputID)
	}
	return &e, nil
}

// decodeEntryJSON decodes an entry of any layout with encoding/json:
// what decodeEntryFast leaves.
func decodeEntryJSON(b []byte, e *Entry) error {
	if err := json.Unmarshal(b, e); err != nil {
		return err
	}
	if e.Meta == nil {
		if err := upgradeV1(e, b); err != nil {
			return err
		}
	}
	return canonicalMeta(e)
}

// canonicalMeta sets e.Meta to the bytes encoding/json writes for it
// (compact; nil for JSON null), so that an entry decodes to what it
// encodes to.
func canonicalMeta(e *Entry) error {
	if e.Meta == nil {
		return nil
	}
	if string(e.Meta) == "null" {
		e.Meta = nil
		return nil
	}
	m, err := json.Marshal(e.Meta)
	if err != nil {
		return err
	}
	e.Meta = m
	return nil
}

// encodeRecord returns the entry record of e.
func encodeRecord(e *Entry) ([]byte, error) {
	j, err := encodeEntry(e)
	if err != nil {
		return nil, err
	}
	sum := blake3.Sum256(j)
	var b bytes.Buffer
	b.WriteString(recordHeader)
	b.WriteString(ID(sum).String())
	b.WriteByte('\n')
	b.Write(j)
	return b.Bytes(), nil
}

// decodeRecord decodes an entry record, checking its digest and its entry.
func decodeRecord(b []byte) (*Entry, error) {
	head, body, ok := bytes.Cut(b, []byte{'\n'})
	if !ok || !bytes.HasPrefix(head, []byte(recordHeader)) {
		return nil, errors.New("not an entry record (no header line)")
	}
	want, err := ParseID(string(head[len(recordHeader):]))
	if err != nil {
		return nil, fmt.Errorf("malformed record header: %v", err)
	}
	if ID(blake3.Sum256(body)) != want {
		return nil, errors.New("record damaged (its digest does not match)")
	}
	return decodeEntry(body)
}

// recordPath is where the entry record of action is kept.
func (c *Cache) recordPath(action ID) string {
	return filepath.Join(c.dir, entryDir, action.String())
}

// writeRecord writes the entry record of action, atomically and synced.
func (c *Cache) writeRecord(action ID, e *Entry) error {
	b, err := encodeRecord(e)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(c.recordPath(action), b)
}

// readRecord reads and decodes the entry record of action.
func (c *Cache) readRecord(action ID) (*Entry, error) {
	b, err := os.ReadFile(c.recordPath(action))
	if err != nil {
		return nil, err
	}
	return decodeRecord(b)
}

// touchRecord sets the record's mtime to t, so that a rebuilt index keeps
// recent LastUsed times (rebuild takes the later of the two). Best effort.
func (c *Cache) touchRecord(action ID, t time.Time) {
	os.Chtimes(c.recordPath(action), t, t)
}

// The record sum. The index holds, under keyRecords, the XOR of the
// ActionIDs of all entry records, updated in the same transaction as the
// entries. Open compares it with the records in entry/: Badger silently
// drops what it cannot replay from a damaged write-ahead log or MANIFEST,
// and such lost entries show up as a different sum, which makes Open put
// them back from their records (and say so) instead of forgetting them
// unreported (restoreMissing).
const keyRecords = "r" // XOR of the ActionIDs of the entry records (32 bytes)

// xorID sets *sum to *sum XOR id.
func xorID(sum *ID, id ID) {
	for i := range sum {
		sum[i] ^= id[i]
	}
}

// recordSum returns the XOR of the ActionIDs named by the files in entry/.
func (c *Cache) recordSum() (ID, error) {
	var sum ID
	f, err := os.Open(filepath.Join(c.dir, entryDir))
	if err != nil {
		return sum, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return sum, err
	}
	for _, name := range names {
		if id, err := ParseID(name); err == nil {
			xorID(&sum, id)
		}
	}
	return sum, nil
}

// storedRecordSum reads the record sum from the index (zero if absent).
func storedRecordSum(txn *badger.Txn) (ID, error) {
	var sum ID
	item, err := txn.Get([]byte(keyRecords))
	if errors.Is(err, badger.ErrKeyNotFound) {
		return sum, nil
	}
	if err != nil {
		return sum, err
	}
	err = item.Value(func(v []byte) error {
		if len(v) != len(sum) {
			return fmt.Errorf("%w: malformed record sum", errIndexDamaged)
		}
		copy(sum[:], v)
		return nil
	})
	return sum, err
}

// checkRecordSum compares the stored record sum with entry/. A mismatch
// means the index lost entries that records still hold.
func (c *Cache) checkRecordSum(db *badger.DB) error {
	want, err := c.recordSum()
	if err != nil {
		return nil // no records to compare with
	}
	var got ID
	err = guard(func() error {
		return db.View(func(txn *badger.Txn) error {
			got, err = storedRecordSum(txn)
			return err
		})
	})
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%w: a crash came between a record and its entry, or Badger dropped part of a damaged log or MANIFEST",
			errIndexDamaged)
	}
	return nil
}

// flipRecordSum XORs ids into the stored record sum within txn: call it
// with the actions whose records are created or removed.
func flipRecordSum(txn *badger.Txn, ids ...ID) error {
	if len(ids) == 0 {
		return nil
	}
	sum, err := storedRecordSum(txn)
	if err != nil {
		return err
	}
	for _, id := range ids {
		xorID(&sum, id)
	}
	return txn.Set([]byte(keyRecords), sum[:])
}

// removeRecords removes the entry records of actions, keeping the record
// sum true. Call it after the index entries are deleted: a crash between
// the two leaves records the next Open restores, which is harmless.
func (c *Cache) removeRecords(actions []ID) error {
	c.recMu.Lock()
	defer c.recMu.Unlock()
	var present []ID
	for _, a := range actions {
		if _, err := os.Stat(c.recordPath(a)); err == nil {
			present = append(present, a)
		}
	}
	if len(present) == 0 {
		return nil
	}
	if err := c.update(func(txn *badger.Txn) error { return flipRecordSum(txn, present...) }); err != nil {
		return fmt.Errorf("cache %s: updating the record sum: %w", c.dir, err)
	}
	for _, a := range present {
		os.Remove(c.recordPath(a))
	}
	return nil
}
