package cache

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
	"golang.org/x/sync/errgroup"
)

// modTimeCutoff is how old a file's mtime and ctime must be, when it is
// hashed, for its digest to be remembered. A file written less than that
// before it was hashed may be written again within the same timestamp tick
// and keep an identical stat (the "racy git" problem); such a file is simply
// rehashed next time. 2 s covers the coarsest common timestamps (FAT, some
// network file systems); cmd/go's test cache uses the same cutoff
// (cmd/go/internal/test/test.go modTimeCutoff).
const modTimeCutoff = 2 * time.Second

// statRecord is a stat-cache entry: the stat the file had when it was
// hashed, when it was hashed, and its digest.
type statRecord struct {
	Key    statKey
	Hashed int64 // unix ns
	Digest ID
}

const statRecordLen = 6*8 + 32

func (r statRecord) encode() []byte {
	b := make([]byte, 0, statRecordLen)
	for _, v := range []uint64{uint64(r.Key.Size), uint64(r.Key.Mtime), uint64(r.Key.Ctime), r.Key.Ino, r.Key.Dev, uint64(r.Hashed)} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return append(b, r.Digest[:]...)
}

func decodeStatRecord(b []byte) (statRecord, bool) {
	if len(b) != statRecordLen {
		return statRecord{}, false
	}
	u := func(i int) uint64 { return binary.LittleEndian.Uint64(b[8*i:]) }
	r := statRecord{
		Key:    statKey{Size: int64(u(0)), Mtime: int64(u(1)), Ctime: int64(u(2)), Ino: u(3), Dev: u(4)},
		Hashed: int64(u(5)),
	}
	copy(r.Digest[:], b[48:])
	return r, true
}

// settled reports whether a file with stat k, hashed at time hashed (unix
// ns), was old enough then for its digest to be trusted later.
func (c *Cache) settled(k statKey, hashed int64) bool {
	cutoff := hashed - int64(c.racyWindow)
	return k.Mtime <= cutoff && k.Ctime <= cutoff
}

// statAbs returns the absolute form of path and its stat: what
// DigestPath and DigestPathUncached start from.
func statAbs(path string) (string, os.FileInfo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", nil, fmt.Errorf("hashing %s: %w", path, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", nil, fmt.Errorf("hashing %s: %w", path, err)
	}
	return abs, fi, nil
}

// DigestPath returns the content digest of a file, or of a folder: the
// digest of one line per file below it (its slash path relative to the
// folder, executable or not, its digest) and one per subfolder, empty or
// not (folderDigestOf). Symbolic links to files are followed; links to
// folders are errors. A missing path gives an error wrapping
// fs.ErrNotExist.
//
// File digests go through the stat cache: a file whose absolute path, size,
// mtime, ctime, inode and device are unchanged since it was hashed is not
// read again, so a no-op build costs one stat per input file.
func (c *Cache) DigestPath(path string) (ID, error) {
	abs, fi, err := statAbs(path)
	if err != nil {
		return ID{}, err
	}
	var pending statWrites
	defer pending.flush(c)
	switch {
	case fi.Mode().IsRegular():
		return c.fileDigest(abs, fi, &pending)
	case fi.IsDir():
		return c.folderDigest(abs, &pending)
	default:
		return ID{}, fmt.Errorf("hashing %s: not a file or folder (%v)", path, fi.Mode().Type())
	}
}

// folderFile is a file found below a folder being hashed.
type folderFile struct {
	name string // slash path relative to the folder
	abs  string
	fi   fs.FileInfo // after following a symbolic link
}

func (c *Cache) folderDigest(root string, pending *statWrites) (ID, error) {
	return folderDigestWith(root, func(abs string, fi fs.FileInfo) (ID, error) { return c.fileDigest(abs, fi, pending) })
}

// folderDigestWith returns the digest of the folder root, hashing each file
// with fileDigest.
func folderDigestWith(root string, fileDigest func(abs string, fi fs.FileInfo) (ID, error)) (ID, error) {
	var files []folderFile
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root {
				dirs = append(dirs, filepath.ToSlash(rel))
			}
			return nil
		}
		fi, err := os.Stat(p) // follows links
		if err != nil {
			return err
		}
		switch {
		case fi.Mode().IsRegular():
		case fi.IsDir():
			return fmt.Errorf("%s is a symbolic link to a folder; list the target folder as an input instead", p)
		default:
			return fmt.Errorf("%s is not a file or folder (%v)", p, fi.Mode().Type())
		}
		files = append(files, folderFile{name: filepath.ToSlash(rel), abs: p, fi: fi})
		return nil
	})
	if err != nil {
		return ID{}, fmt.Errorf("hashing %s: %w", root, err)
	}
	slices.SortFunc(files, func(a, b folderFile) int { return strings.Compare(a.name, b.name) })

	digests := make([]ID, len(files))
	errs := make([]error, len(files))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, f := range files {
		g.Go(func() error {
			digests[i], errs[i] = fileDigest(f.abs, f.fi)
			return nil // the first error by path order is reported, below
		})
	}
	g.Wait()
	for _, err := range errs {
		if err != nil {
			return ID{}, err // the first one, by path order
		}
	}

	lines := make([]folderLine, len(files))
	for i, f := range files {
		lines[i] = folderLine{name: f.name, digest: digests[i], exec: f.fi.Mode()&0o111 != 0}
	}
	return folderDigestOf(lines, dirs), nil
}

// fileDigest returns the digest of the regular file abs, whose stat is fi,
// through the stat cache.
func (c *Cache) fileDigest(abs string, fi fs.FileInfo, pending *statWrites) (ID, error) {
	key := statKeyOf(fi)
	if rec, ok := c.lookupStat(abs); ok && rec.Key == key && c.settled(rec.Key, rec.Hashed) {
		return rec.Digest, nil
	}
	// Hash, then check the file did not change meanwhile; retry once.
	for try := 0; ; try++ {
		hashed := c.now().UnixNano()
		digest, after, err := hashFile(abs)
		if err != nil {
			return ID{}, fmt.Errorf("hashing %s: %w", abs, err)
		}
		if after == key {
			if c.settled(key, hashed) {
				pending.add(abs, statRecord{Key: key, Hashed: hashed, Digest: digest})
			}
			return digest, nil
		}
		if try == 1 {
			return ID{}, fmt.Errorf("hashing %s: the file keeps changing while it is being hashed; wait for whatever writes it to finish", abs)
		}
		key = after
	}
}

// hashFile reads and hashes a file; it returns the digest and the stat the
// file had after hashing.
func hashFile(abs string) (ID, statKey, error) {
	f, _, digest, err := openHashed(abs, abs)
	if err != nil {
		return ID{}, statKey{}, err
	}
	defer f.Close()
	after, err := f.Stat()
	if err != nil {
		return ID{}, statKey{}, err
	}
	return digest, statKeyOf(after), nil
}

func (c *Cache) lookupStat(abs string) (statRecord, bool) {
	var rec statRecord
	var ok bool
	c.view(func(txn *badger.Txn) error { // on damage: no record, so the file is rehashed
		item, err := txn.Get(statDBKey(abs))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			rec, ok = decodeStatRecord(v)
			return nil
		})
	})
	return rec, ok
}

// statWrites collects new stat-cache records, written in one batch when the
// hashing is done. They are not fsynced: losing them costs a rehash, never a
// wrong digest.
type statWrites struct {
	mu   sync.Mutex
	recs map[string]statRecord
}

func (w *statWrites) add(abs string, r statRecord) {
	w.mu.Lock()
	if w.recs == nil {
		w.recs = map[string]statRecord{}
	}
	w.recs[abs] = r
	w.mu.Unlock()
}

func (w *statWrites) flush(c *Cache) {
	if len(w.recs) == 0 || !c.writable() {
		return
	}
	db, err := c.writeDB()
	if err != nil {
		return // the stat cache is only a shortcut: the digests are recomputed next time
	}
	guard(func() error {
		wb := db.NewWriteBatch()
		defer wb.Cancel()
		for abs, r := range w.recs {
			if err := wb.Set(statDBKey(abs), r.encode()); err != nil {
				return err
			}
		}
		return wb.Flush()
	})
}
