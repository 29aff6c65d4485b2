package cache

import (
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
)

// Output stat records ("seals"): what each file of a committed output
// looked like (size, mtime, ctime, inode, device) right after CommitOutput
// made it read-only, and what each of its folders looked like once it was
// renamed into out/. Get compares every file's stat with its record and
// rehashes a file only when they differ, so damage of any kind — even an
// edit that keeps the size — is a miss for the build that meets it, at the
// cost of one stat per file on a hit. A folder whose stat differs is
// listed: a name that is neither a manifest file nor a recorded folder is
// damage too (a file or folder added), which is how a stage that added a
// file to an upstream output is caught. A file whose stat differs but whose
// content still matches the manifest (restored by `cp -a`, touched, copied
// to another disk) gets a fresh record; so does a folder whose names are
// unchanged.
//
// CheckSealed is the strict form the engine runs after each stage on every
// output the stage could reach: any stat that differs from the record is
// damage, without rehashing, since nothing may legitimately touch a
// committed output while a build runs.
//
// Records are written without fsync: CommitOutput is followed by Put, whose
// Sync makes them durable with the entry. A lost record costs one rehash.
//
// Layout of the value of o/<OutputID>: the files' stats, 40 bytes each, in
// manifest order; then, if folders were recorded, 'D', the number of
// folders (uvarint) and for each its slash path relative to the output
// ("" for the output folder itself; uvarint length, bytes) and its 40-byte
// stat. Records written before folders were recorded have no 'D' part:
// their folders are listed once and recorded.

// outStatLen is the encoded size of one file's stat.
const outStatLen = 5 * 8

// dirStat is the stat of one folder of an output.
type dirStat struct {
	Name string // slash path relative to the output folder; "" for itself
	Key  statKey
}

func outStatKey(id ID) []byte { return append([]byte(prefixOutStat), id[:]...) }

func appendStatKey(b []byte, k statKey) []byte {
	for _, v := range []uint64{uint64(k.Size), uint64(k.Mtime), uint64(k.Ctime), k.Ino, k.Dev} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return b
}

func decodeStatKey(b []byte) statKey {
	u := func(j int) uint64 { return binary.LittleEndian.Uint64(b[8*j:]) }
	return statKey{Size: int64(u(0)), Mtime: int64(u(1)), Ctime: int64(u(2)), Ino: u(3), Dev: u(4)}
}

func encodeOutStats(keys []statKey, dirs []dirStat) []byte {
	b := make([]byte, 0, outStatLen*(len(keys)+len(dirs))+16*len(dirs)+8)
	for _, k := range keys {
		b = appendStatKey(b, k)
	}
	if dirs == nil {
		return b
	}
	b = append(b, 'D')
	b = binary.AppendUvarint(b, uint64(len(dirs)))
	for _, d := range dirs {
		b = binary.AppendUvarint(b, uint64(len(d.Name)))
		b = append(b, d.Name...)
		b = appendStatKey(b, d.Key)
	}
	return b
}

// decodeOutStats decodes the file part of the record of an output of n
// files, or returns nil if it is malformed.
func decodeOutStats(b []byte, n int) []statKey {
	if len(b) < outStatLen*n || (len(b) > outStatLen*n && b[outStatLen*n] != 'D') {
		return nil
	}
	keys := make([]statKey, n)
	for i := range keys {
		keys[i] = decodeStatKey(b[outStatLen*i:])
	}
	return keys
}

// decodeOutDirs decodes the folder part of the record of an output of n
// files; ok is false if there is none or it is malformed.
func decodeOutDirs(b []byte, n int) (dirs []dirStat, ok bool) {
	if len(b) <= outStatLen*n || b[outStatLen*n] != 'D' {
		return nil, false
	}
	b = b[outStatLen*n+1:]
	count, k := binary.Uvarint(b)
	if k <= 0 || count > uint64(len(b)) {
		return nil, false
	}
	b = b[k:]
	dirs = make([]dirStat, 0, count)
	for range count {
		l, k := binary.Uvarint(b)
		if k <= 0 || l > uint64(len(b)) || uint64(len(b)-k) < l+outStatLen {
			return nil, false
		}
		b = b[k:]
		dirs = append(dirs, dirStat{Name: string(b[:l]), Key: decodeStatKey(b[l:])})
		b = b[l+outStatLen:]
	}
	return dirs, len(b) == 0
}

// readOutStats reads the record of output id within txn; nil if there is
// none (or it does not match n files).
func readOutStats(txn *badger.Txn, id ID, n int) []statKey {
	keys, _, _ := readOutRecord(txn, id, n)
	return keys
}

// readOutRecord reads both parts of the record of output id within txn.
func readOutRecord(txn *badger.Txn, id ID, n int) (keys []statKey, dirs []dirStat, dirsOK bool) {
	item, err := txn.Get(outStatKey(id))
	if err != nil {
		return nil, nil, false
	}
	item.Value(func(v []byte) error {
		keys = decodeOutStats(v, n)
		if keys != nil {
			dirs, dirsOK = decodeOutDirs(v, n)
		}
		return nil
	})
	return keys, dirs, dirsOK
}

// readOutDirs reads the folder part of the record of output id.
func (c *Cache) readOutDirs(id ID, n int) (dirs []dirStat, ok bool) {
	c.view(func(txn *badger.Txn) error {
		_, dirs, ok = readOutRecord(txn, id, n)
		return nil
	})
	return dirs, ok
}

// writeOutStats records the stats of an output's files, in manifest order,
// and of its folders (nil: not recorded).
func (c *Cache) writeOutStats(id ID, keys []statKey, dirs []dirStat) error {
	v := encodeOutStats(keys, dirs)
	return c.update(func(txn *badger.Txn) error { return txn.Set(outStatKey(id), v) })
}

// statDirs lstats the folders of the output folder dir, named by their
// slash paths relative to it, for its record.
func statDirs(dir string, names []string) ([]dirStat, error) {
	dirs := make([]dirStat, 0, len(names))
	for _, name := range names {
		fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return nil, err
		}
		dirs = append(dirs, dirStat{Name: name, Key: statKeyOf(fi)})
	}
	slices.SortFunc(dirs, func(a, b dirStat) int { return strings.Compare(a.Name, b.Name) })
	return dirs, nil
}

// checkOutput checks the output folder id against its manifest: every file
// is present, regular, of the recorded size and exec bit, and has the stat
// recorded at commit time; a file whose stat differs (or that has no
// record) is rehashed and must still have its manifest digest. Every folder
// has its recorded stat, or holds no name besides the manifest's files and
// the recorded folders (checkFolders). rec is the record's file part (nil
// if unknown). Errors wrap ErrCorrupt.
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
	dirs, dirsOK := c.readOutDirs(id, len(files))
	freshDirs, dirsChanged, err := checkFolders(dir, files, dirs, dirsOK)
	if err != nil {
		return fmt.Errorf("output %s: %v: %w", dir, err, ErrCorrupt)
	}
	if fresh != nil || dirsChanged {
		// Content intact under a new stat: remember it, so that the next
		// Get does not rehash. Best effort: without it, Get rehashes again.
		if fresh == nil {
			fresh = rec
		}
		if fresh != nil || len(files) == 0 {
			c.writeOutStats(id, fresh, freshDirs)
		}
	}
	return nil
}

// checkFolders checks the folders of the output folder dir. With a record
// (known), a folder whose stat matches its record gained or lost no name;
// one whose stat differs is listed. Without one, every folder is listed.
// A listed folder may hold only manifest files and recorded folders (any
// folder, without a record). It returns the folders' current stats and
// whether they differ from the record.
func checkFolders(dir string, files []File, rec []dirStat, known bool) ([]dirStat, bool, error) {
	wantFiles := make(map[string]bool, len(files))
	for _, f := range files {
		wantFiles[f.Name] = true
	}
	if !known {
		var names []string
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := relName(dir, p)
			switch {
			case d.IsDir():
				names = append(names, name)
			case !wantFiles[name]:
				return fmt.Errorf("%s is not part of the output (not in its manifest)", name)
			}
			return nil
		})
		if err != nil {
			return nil, false, err
		}
		dirs, err := statDirs(dir, names)
		return dirs, true, err
	}
	wantDirs := make(map[string]bool, len(rec))
	for _, d := range rec {
		wantDirs[d.Name] = true
	}
	fresh := slices.Clone(rec)
	changed := false
	for i, d := range rec {
		p := filepath.Join(dir, filepath.FromSlash(d.Name))
		fi, err := os.Lstat(p)
		if err != nil || !fi.IsDir() {
			return nil, false, fmt.Errorf("folder %s/ missing", d.Name)
		}
		k := statKeyOf(fi)
		if k == d.Key {
			continue
		}
		if extra := unexpectedNames(p, d.Name, wantFiles, wantDirs); len(extra) > 0 {
			return nil, false, fmt.Errorf("%s not part of the output", strings.Join(extra, ", "))
		}
		fresh[i].Key, changed = k, true
	}
	return fresh, changed, nil
}

// unexpectedNames lists the names in folder p (named name in the output)
// that are neither wanted files nor wanted folders.
func unexpectedNames(p, name string, wantFiles, wantDirs map[string]bool) []string {
	entries, err := os.ReadDir(p)
	if err != nil {
		return []string{fmt.Sprintf("%s/ (cannot list: %v)", name, err)}
	}
	var extra []string
	for _, e := range entries {
		n := e.Name()
		if name != "" {
			n = name + "/" + n
		}
		switch {
		case e.IsDir() && wantDirs[n]:
		case !e.IsDir() && wantFiles[n]:
		case e.IsDir():
			extra = append(extra, n+"/")
		default:
			extra = append(extra, n)
		}
	}
	return extra
}

// relName is p's slash path relative to the output folder dir ("" for dir).
func relName(dir, p string) string {
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == "." {
		return ""
	}
	return filepath.ToSlash(rel)
}

// CheckSealed checks that the output folder id is exactly as it was
// committed: every file and folder has the stat recorded then (size,
// mtime, ctime, inode, device), so no file was written, replaced, added or
// removed. Unlike Get it accepts no change, even one that keeps the
// content: the engine calls it after each stage on every output the stage
// could reach, and a stage must not touch them. Without a complete record
// (an output committed by an older refeval, a lost record) it falls back
// to Get's check, which rehashes. The error wraps ErrCorrupt and says what
// changed.
func (c *Cache) CheckSealed(id ID, files []File) error {
	var (
		rec    []statKey
		dirs   []dirStat
		dirsOK bool
	)
	c.view(func(txn *badger.Txn) error {
		rec, dirs, dirsOK = readOutRecord(txn, id, len(files))
		return nil
	})
	if rec == nil || !dirsOK {
		return c.checkOutput(id, files, rec)
	}
	dir := c.OutputDir(id)
	var bad, modified []string
	for i, f := range files {
		if !cleanName(f.Name) {
			return fmt.Errorf("output %s: manifest names %q, which is not a path inside the folder: %w", dir, f.Name, ErrCorrupt)
		}
		fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(f.Name)))
		switch {
		case err != nil:
			bad = append(bad, f.Name+" removed")
		case !fi.Mode().IsRegular():
			bad = append(bad, f.Name+" replaced by something not a file")
		case statKeyOf(fi) != rec[i]:
			bad = append(bad, f.Name+" modified")
		}
	}
	wantFiles := make(map[string]bool, len(files))
	for _, f := range files {
		wantFiles[f.Name] = true
	}
	wantDirs := make(map[string]bool, len(dirs))
	for _, d := range dirs {
		wantDirs[d.Name] = true
	}
	for _, d := range dirs {
		p := filepath.Join(dir, filepath.FromSlash(d.Name))
		fi, err := os.Lstat(p)
		switch {
		case err != nil || !fi.IsDir():
			bad = append(bad, "folder "+d.Name+"/ removed")
		case statKeyOf(fi) != d.Key:
			extra := unexpectedNames(p, d.Name, wantFiles, wantDirs)
			for _, n := range extra {
				bad = append(bad, n+" added")
			}
			if len(extra) == 0 && d.Name != "" {
				modified = append(modified, "folder "+d.Name+"/ modified")
			} else if len(extra) == 0 {
				modified = append(modified, "folder modified")
			}
		}
	}
	if len(bad) == 0 {
		// Only folders changed, with the same names (a name added and
		// removed, a chmod): say so, as nothing else explains it.
		bad = modified
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return fmt.Errorf("output %s: %s: %w", dir, strings.Join(bad, ", "), ErrCorrupt)
	}
	return nil
}
