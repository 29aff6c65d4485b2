package cache

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
)

// Output stat records: what each file of a committed output looked like
// (size, mtime, ctime, inode, device) right after CommitOutput made it
// read-only. Get compares every file's stat with its record and rehashes a
// file only when they differ, so damage of any kind — even an edit that
// keeps the size — is a miss for the build that meets it, at the cost of one
// stat per file on a hit. A file whose stat differs but whose content still
// matches the manifest (restored by `cp -a`, touched, copied to another
// disk) gets a fresh record.
//
// Records are written without fsync: CommitOutput is followed by Put, whose
// Sync makes them durable with the entry. A lost record costs one rehash.

// outStatLen is the encoded size of one file's stat.
const outStatLen = 5 * 8

func outStatKey(id ID) []byte { return append([]byte(prefixOutStat), id[:]...) }

func encodeOutStats(keys []statKey) []byte {
	b := make([]byte, 0, outStatLen*len(keys))
	for _, k := range keys {
		for _, v := range []uint64{uint64(k.Size), uint64(k.Mtime), uint64(k.Ctime), k.Ino, k.Dev} {
			b = binary.LittleEndian.AppendUint64(b, v)
		}
	}
	return b
}

// decodeOutStats decodes the record of an output of n files, or returns nil
// if it is malformed.
func decodeOutStats(b []byte, n int) []statKey {
	if len(b) != outStatLen*n {
		return nil
	}
	keys := make([]statKey, n)
	for i := range keys {
		u := func(j int) uint64 { return binary.LittleEndian.Uint64(b[outStatLen*i+8*j:]) }
		keys[i] = statKey{Size: int64(u(0)), Mtime: int64(u(1)), Ctime: int64(u(2)), Ino: u(3), Dev: u(4)}
	}
	return keys
}

// readOutStats reads the record of output id within txn; nil if there is
// none (or it does not match n files).
func readOutStats(txn *badger.Txn, id ID, n int) []statKey {
	item, err := txn.Get(outStatKey(id))
	if err != nil {
		return nil
	}
	var keys []statKey
	item.Value(func(v []byte) error {
		keys = decodeOutStats(v, n)
		return nil
	})
	return keys
}

// writeOutStats records the stats of an output's files, in manifest order.
func (c *Cache) writeOutStats(id ID, keys []statKey) error {
	v := encodeOutStats(keys)
	return c.db.Update(func(txn *badger.Txn) error { return txn.Set(outStatKey(id), v) })
}

// checkOutput checks the output folder id against its manifest: every file
// is present, regular, of the recorded size and exec bit, and has the stat
// recorded at commit time; a file whose stat differs (or that has no
// record) is rehashed and must still have its manifest digest. rec is the
// output's stat record (nil if unknown). Errors wrap ErrCorrupt. Unexpected
// extra files are left to VerifyOutput.
func (c *Cache) checkOutput(id ID, files []File, rec []statKey) error {
	dir := c.OutputDir(id)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("output %s: folder missing: %w", dir, ErrCorrupt)
	}
	var fresh []statKey
	for i, f := range files {
		if !cleanName(f.Name) {
			return fmt.Errorf("output %s: manifest names %q, which is not a path inside the folder: %w", dir, f.Name, ErrCorrupt)
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		fi, err := os.Lstat(p)
		switch {
		case err != nil:
			return fmt.Errorf("output %s: file %s missing: %w", dir, f.Name, ErrCorrupt)
		case !fi.Mode().IsRegular():
			return fmt.Errorf("output %s: %s is not a regular file: %w", dir, f.Name, ErrCorrupt)
		case fi.Size() != f.Size:
			return fmt.Errorf("output %s: file %s has %d bytes, want %d: %w", dir, f.Name, fi.Size(), f.Size, ErrCorrupt)
		case (fi.Mode()&0o111 != 0) != (f.Mode&0o111 != 0):
			return fmt.Errorf("output %s: file %s has mode %v, want %v: %w", dir, f.Name, fi.Mode().Perm(), f.Mode.Perm(), ErrCorrupt)
		}
		k := statKeyOf(fi)
		if rec != nil && rec[i] == k {
			continue
		}
		digest, after, err := hashFile(p)
		if err != nil {
			return fmt.Errorf("output %s: file %s: %v: %w", dir, f.Name, err, ErrCorrupt)
		}
		if digest != f.Digest {
			return fmt.Errorf("output %s: file %s changed (its content no longer matches the manifest): %w", dir, f.Name, ErrCorrupt)
		}
		if fresh == nil {
			fresh = make([]statKey, len(files))
			copy(fresh, rec)
		}
		fresh[i] = after
	}
	if fresh != nil {
		// Content intact under a new stat: remember it, so that the next
		// Get does not rehash. Best effort: without it, Get rehashes again.
		c.writeOutStats(id, fresh)
	}
	return nil
}
