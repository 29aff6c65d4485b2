package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"golang.org/x/sync/errgroup"
)

// CommitVerified turns the folder tmp (from NewOutputDir) into the cached
// output id, like CommitOutput, but without hashing its files again: the
// caller has already checked every file against the manifest files while
// writing it (a download from a remote cache, verified as it streamed).
// It checks that files is the manifest of id, that tmp holds exactly those
// files with their sizes (plain files, as CommitOutput wants them), then
// makes them read-only, fsyncs them and their folders, records their stats
// and renames tmp into out/. If out/<id> exists intact, tmp is dropped.
// Errors leave tmp for the caller to discard.
func (c *Cache) CommitVerified(tmp string, id ID, files []File) error {
	if OutputIDOf(files) != id {
		return fmt.Errorf("cache: committing output %s: the manifest does not match OutputID %s: %w", tmp, id, ErrCorrupt)
	}
	for i, f := range files {
		if !cleanName(f.Name) || (i > 0 && files[i-1].Name >= f.Name) {
			return fmt.Errorf("cache: committing output %s: bad or unsorted manifest name %q: %w", tmp, f.Name, ErrCorrupt)
		}
	}
	_, names, dirs, err := outputFiles(tmp)
	if err != nil {
		return fmt.Errorf("cache: committing output %s: %w", tmp, err)
	}
	for _, n := range names {
		if _, ok := slices.BinarySearchFunc(files, n, func(f File, n string) int { return strings.Compare(f.Name, n) }); !ok {
			return fmt.Errorf("cache: committing output %s: %s is not in the manifest", tmp, n)
		}
	}
	// Seal the files on all cores, as CommitOutput does: a download may
	// hold thousands of small files, each fsynced.
	stats := make([]statKey, len(files))
	errs := make([]error, len(files))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, f := range files {
		g.Go(func() error {
			stats[i], errs[i] = sealFile(filepath.Join(tmp, filepath.FromSlash(f.Name)), f)
			return nil // the first error by name is reported, below
		})
	}
	g.Wait()
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("cache: committing output %s: %w", tmp, err)
		}
	}
	for _, d := range slices.Backward(dirs) {
		if err := syncDir(d); err != nil {
			return fmt.Errorf("cache: committing output %s: %w", tmp, err)
		}
	}
	return c.install(tmp, id, files, stats, dirs)
}

// sealFile checks one downloaded file's size, sets its mode from the
// manifest, fsyncs it and returns its stat.
func sealFile(p string, f File) (statKey, error) {
	fh, err := os.Open(p)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return statKey{}, fmt.Errorf("%s is missing", f.Name)
		}
		return statKey{}, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return statKey{}, err
	}
	if !fi.Mode().IsRegular() || fi.Size() != f.Size {
		return statKey{}, fmt.Errorf("%s has %d bytes, want %d", f.Name, fi.Size(), f.Size)
	}
	mode := fs.FileMode(0o444)
	if f.Mode&0o111 != 0 {
		mode = 0o555
	}
	if err := fh.Chmod(mode); err != nil {
		return statKey{}, fmt.Errorf("%s: %w", f.Name, err)
	}
	if err := fh.Sync(); err != nil {
		return statKey{}, fmt.Errorf("%s: fsync: %w", f.Name, err)
	}
	after, err := fh.Stat()
	if err != nil {
		return statKey{}, err
	}
	return statKeyOf(after), nil
}

// HasOutput reports whether the output folder id is present and matches
// files (checked by stat, as Get does), so that a download can be skipped.
func (c *Cache) HasOutput(id ID, files []File) bool {
	if _, err := os.Stat(c.OutputDir(id)); err != nil {
		return false
	}
	var rec []statKey
	c.view(func(txn *badger.Txn) error {
		rec = readOutStats(txn, id, len(files))
		return nil
	})
	return c.checkOutput(id, files, rec) == nil
}

// PartialPath returns where a download named key (a blob digest, say) can
// be kept between runs, so that an interrupted download resumes: a file in
// tmp/, on the output folders' file system (it can be renamed into a
// folder from NewOutputDir). GC removes what is left there.
func (c *Cache) PartialPath(key string) string {
	return filepath.Join(c.dir, tmpDir, "partial-"+key)
}
