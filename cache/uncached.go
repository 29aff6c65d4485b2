package cache

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"
)

// DigestPathUncached returns the same digest as DigestPath, hashing every
// file, without a cache: for a process that cannot open the cache folder
// because another one holds it (a stage running as a cluster job while the
// build on the login node owns the index).
func DigestPathUncached(path string) (ID, error) {
	abs, fi, err := statAbs(path)
	if err != nil {
		return ID{}, err
	}
	switch {
	case fi.Mode().IsRegular():
		d, _, err := hashFile(abs)
		if err != nil {
			return ID{}, fmt.Errorf("hashing %s: %w", abs, err)
		}
		return d, nil
	case !fi.IsDir():
		return ID{}, fmt.Errorf("hashing %s: not a file or folder (%v)", path, fi.Mode().Type())
	}
	return folderDigestWith(abs, func(p string, _ fs.FileInfo) (ID, error) {
		d, _, err := hashFile(p)
		if err != nil {
			return ID{}, fmt.Errorf("hashing %s: %w", p, err)
		}
		return d, nil
	})
}

// ManifestOf returns the manifest and OutputID that CommitOutput would give
// the folder dir, without committing it: a job on another machine reports
// them, and the committing process checks it read the same files.
func ManifestOf(dir string) (ID, []File, error) {
	paths, names, _, err := outputFiles(dir)
	if err != nil {
		return ID{}, nil, fmt.Errorf("cache: reading output %s: %w", dir, err)
	}
	files := make([]File, len(paths))
	for i, p := range paths {
		f, fi, digest, err := openHashed(p, names[i])
		if err != nil {
			return ID{}, nil, fmt.Errorf("cache: reading output %s: %w", dir, err)
		}
		f.Close()
		files[i] = File{Name: names[i], Size: fi.Size(), Digest: digest, Mode: committedMode(fi)}
	}
	slices.SortFunc(files, func(a, b File) int { return strings.Compare(a.Name, b.Name) })
	return OutputIDOf(files), files, nil
}
