package cache

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/zeebo/blake3"
	"golang.org/x/sync/errgroup"
)

// manifestSalt starts the text whose digest is an OutputID.
const manifestSalt = "refeval output v1\n"

// NewOutputDir creates a fresh, empty folder under <dir>/tmp, on the same
// file system as out/ so that CommitOutput can rename it into place. A stage
// writes its output there ($OUT). Temp folders not committed are removed by
// GC once the Cache that made them is closed.
func (c *Cache) NewOutputDir() (string, error) {
	dir, err := os.MkdirTemp(filepath.Join(c.dir, tmpDir), "out-")
	if err != nil {
		return "", fmt.Errorf("cache: cannot create output folder: %w", err)
	}
	c.mu.Lock()
	c.temp[filepath.Base(dir)] = true
	c.mu.Unlock()
	return dir, nil
}

// DiscardOutputDir removes a folder from NewOutputDir that will not be
// committed (the stage failed), even if the stage left read-only folders in
// it.
func (c *Cache) DiscardOutputDir(tmp string) error {
	if filepath.Dir(filepath.Clean(tmp)) != filepath.Join(c.dir, tmpDir) {
		return fmt.Errorf("cache: DiscardOutputDir %s: not a folder from NewOutputDir", tmp)
	}
	err := RemoveTree(tmp)
	c.forgetTemp(tmp)
	if err != nil {
		return fmt.Errorf("cache: removing output folder: %w", err)
	}
	return nil
}

// OutputIDOf returns the OutputID of a manifest: the digest of one line per
// file (digest, executable or not, size, quoted name), in the given order,
// which must be sorted by Name.
//
// The text is built in memory and hashed in one call (a streaming hasher
// is an 8 KB allocation, and plan computes an OutputID per cached stage).
func OutputIDOf(files []File) ID {
	b := make([]byte, 0, len(manifestSalt)+len(files)*(2*len(ID{})+32))
	b = append(b, manifestSalt...)
	for _, f := range files {
		b = hex.AppendEncode(b, f.Digest[:])
		if f.Mode&0o111 != 0 {
			b = append(b, " x "...)
		} else {
			b = append(b, " - "...)
		}
		b = strconv.AppendInt(b, f.Size, 10)
		b = append(b, ' ')
		b = strconv.AppendQuote(b, f.Name)
		b = append(b, '\n')
	}
	return ID(blake3.Sum256(b))
}

// CommitOutput turns the folder tmp (from NewOutputDir) into a cached
// output: it hashes every file, makes it read-only and fsyncs it, fsyncs
// every folder, computes the manifest and OutputID, and renames tmp to
// OutputDir(id), fsyncing out/ afterwards. If that folder already exists
// (another action produced the same output) and is intact, tmp is dropped.
// Symbolic links and other non-regular files are errors: outputs must be
// plain files so that they can be hashed and copied.
func (c *Cache) CommitOutput(tmp string) (ID, []File, error) {
	paths, names, dirs, err := outputFiles(tmp)
	if err != nil {
		return ID{}, nil, fmt.Errorf("cache: committing output %s: %w", tmp, err)
	}
	// Hash the files on all cores (each big file also hashes its segments
	// in parallel), as an output may hold thousands of small files.
	files := make([]File, len(paths))
	stats := make([]statKey, len(paths))
	errs := make([]error, len(paths))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i := range paths {
		g.Go(func() error {
			files[i], stats[i], errs[i] = commitFile(paths[i], names[i])
			return nil // every file's error is reported, not the first
		})
	}
	g.Wait()
	if err := errors.Join(errs...); err != nil {
		return ID{}, nil, fmt.Errorf("cache: committing output %s: %w", tmp, err)
	}
	for _, d := range slices.Backward(dirs) {
		if err := syncDir(d); err != nil {
			return ID{}, nil, fmt.Errorf("cache: committing output %s: %w", tmp, err)
		}
	}
	order := make([]int, len(files))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(files[a].Name, files[b].Name) })
	sortedFiles := make([]File, len(files))
	sortedStats := make([]statKey, len(files))
	for i, j := range order {
		sortedFiles[i], sortedStats[i] = files[j], stats[j]
	}
	files, stats = sortedFiles, sortedStats
	id := OutputIDOf(files)
	if err := c.install(tmp, id, files, stats, dirs); err != nil {
		return ID{}, nil, err
	}
	return id, files, nil
}

// install renames the folder tmp, whose files (sorted by name, with their
// stats) and subfolders dirs are sealed and synced, into out/<id>, and
// records the stats of its files and folders. If out/<id> exists intact,
// tmp is dropped; if it exists damaged, it is moved aside and replaced.
// CommitOutput and CommitVerified both end here.
func (c *Cache) install(tmp string, id ID, files []File, stats []statKey, dirs []string) error {
	dest := c.OutputDir(id)
	// Two stages of this process may commit the same output at once.
	c.commitMu.Lock()
	defer c.commitMu.Unlock()
	c.mu.Lock()
	c.made[id] = true
	c.mu.Unlock()
	if _, err := os.Stat(dest); err == nil {
		var rec []statKey
		c.view(func(txn *badger.Txn) error {
			rec = readOutStats(txn, id, len(files))
			return nil
		})
		if c.checkOutput(id, files, rec) == nil {
			if err := RemoveTree(tmp); err != nil {
				return fmt.Errorf("cache: removing duplicate output %s: %w", tmp, err)
			}
			c.forgetTemp(tmp)
			return nil
		}
		// The existing folder is damaged: move it aside and replace it.
		trash, err := os.MkdirTemp(filepath.Join(c.dir, tmpDir), "corrupt-")
		if err == nil {
			err = os.Rename(dest, filepath.Join(trash, "out"))
		}
		if err != nil {
			return fmt.Errorf("cache: replacing damaged output %s: %w", dest, err)
		}
		RemoveTree(trash)
	}
	if err := os.Rename(tmp, dest); err != nil {
		return fmt.Errorf("cache: committing output %s: %w (the temp folder must be on the cache's file system; use NewOutputDir)", tmp, err)
	}
	c.forgetTemp(tmp)
	if err := syncDir(filepath.Join(c.dir, outDir)); err != nil {
		return fmt.Errorf("cache: committing output %s: %w", dest, err)
	}
	// Renaming the folder changes no file's stat, but it changes the
	// folder's own: folders are recorded only now. Not synced here: Put's
	// Sync makes the record durable with the entry.
	dirNames := make([]string, len(dirs))
	for i, d := range dirs {
		dirNames[i] = relName(tmp, d)
	}
	dirStats, err := statDirs(dest, dirNames)
	if err != nil {
		return fmt.Errorf("cache: committing output %s: %w", dest, err)
	}
	if err := c.writeOutStats(id, stats, dirStats); err != nil {
		return fmt.Errorf("cache %s: recording the stats of output %s: %w", c.dir, id, err)
	}
	return nil
}

// outputFiles lists the regular files of an output folder (their paths,
// and their slash paths relative to dir) and its folders, dir first;
// anything else in it is an error saying what a stage must write.
func outputFiles(dir string) (paths, names, dirs []string, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			dirs = append(dirs, p)
			return nil
		case d.Type()&fs.ModeSymlink != 0:
			return fmt.Errorf("%s is a symbolic link; a stage must write regular files (copy the target instead)", name)
		case !d.Type().IsRegular():
			return fmt.Errorf("%s is not a regular file (%v); a stage must write regular files", name, d.Type())
		}
		paths, names = append(paths, p), append(names, name)
		return nil
	})
	return paths, names, dirs, err
}

// committedMode is the mode a committed file gets: read-only, executable
// if it was.
func committedMode(fi fs.FileInfo) fs.FileMode {
	if fi.Mode()&0o111 != 0 {
		return 0o555
	}
	return 0o444
}

// commitFile hashes, fsyncs and write-protects one output file. It returns
// the file's stat after that, for the output's stat record.
func commitFile(p, name string) (File, statKey, error) {
	f, fi, digest, err := openHashed(p, name)
	if err != nil {
		return File{}, statKey{}, err
	}
	defer f.Close()
	mode := committedMode(fi)
	if err := f.Chmod(mode); err != nil {
		return File{}, statKey{}, fmt.Errorf("%s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return File{}, statKey{}, fmt.Errorf("%s: fsync: %w", name, err)
	}
	after, err := f.Stat()
	if err != nil {
		return File{}, statKey{}, err
	}
	if after.Size() != fi.Size() || !after.ModTime().Equal(fi.ModTime()) {
		return File{}, statKey{}, fmt.Errorf("%s changed while it was being committed; a process the stage started is still writing it (wait for it before the stage returns)", name)
	}
	return File{Name: name, Size: fi.Size(), Digest: digest, Mode: mode}, statKeyOf(after), nil
}

func (c *Cache) forgetTemp(tmp string) {
	c.mu.Lock()
	delete(c.temp, filepath.Base(tmp))
	c.mu.Unlock()
}

// syncDir fsyncs a folder, making the names created in it durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil && (errors.Is(err, fs.ErrInvalid) || isSyncUnsupported(err)) {
		return nil // some file systems and platforms cannot fsync folders
	}
	return err
}

// VerifyOutput rehashes every file of the output folder id and compares it
// with the manifest. The error wraps ErrCorrupt and names every file that
// is missing, changed or unexpected.
func (c *Cache) VerifyOutput(id ID, files []File) error {
	dir := c.OutputDir(id)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("output %s: folder missing: %w", dir, ErrCorrupt)
	}
	var bad []string
	if OutputIDOf(files) != id {
		bad = append(bad, "(manifest does not match the OutputID)")
	}
	want := map[string]bool{}
	for _, f := range files {
		want[f.Name] = true
		if !cleanName(f.Name) {
			bad = append(bad, fmt.Sprintf("%q (not a path inside the folder)", f.Name))
			continue
		}
		if problem := verifyFile(filepath.Join(dir, filepath.FromSlash(f.Name)), f); problem != "" {
			bad = append(bad, f.Name+" ("+problem+")")
		}
	}
	// Folders: those of the output's record, if it has them (a stage
	// that made a folder in another stage's output damaged it).
	recDirs, dirsKnown := c.readOutDirs(id, len(files))
	wantDirs := map[string]bool{}
	for _, d := range recDirs {
		wantDirs[d.Name] = true
	}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		name := relName(dir, p)
		switch {
		case d.IsDir():
			if dirsKnown && !wantDirs[name] {
				bad = append(bad, name+"/ (folder not in the output)")
			}
		case !want[name]:
			bad = append(bad, name+" (not in the manifest)")
		}
		return nil
	})
	if len(bad) > 0 {
		return fmt.Errorf("output %s: %s: %w", dir, strings.Join(bad, ", "), ErrCorrupt)
	}
	return nil
}

// verifyFile rehashes one file; it returns what is wrong, or "".
func verifyFile(p string, want File) string {
	f, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "missing"
		}
		return err.Error()
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err.Error()
	}
	if !fi.Mode().IsRegular() {
		return "not a regular file"
	}
	if fi.Size() != want.Size {
		return fmt.Sprintf("%d bytes, want %d", fi.Size(), want.Size)
	}
	if (fi.Mode()&0o111 != 0) != (want.Mode&0o111 != 0) {
		return "executable bit changed"
	}
	if readHook != nil {
		readHook(p)
	}
	got, err := digestReaderAt(f, want.Size, p)
	if err != nil {
		return err.Error()
	}
	if got != want.Digest {
		return "content changed"
	}
	return ""
}
