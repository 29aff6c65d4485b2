package cache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Free space. Badger maps its write-ahead logs and value log into memory
// and writes through the mapping: on a full disk a write to a page the file
// system cannot back kills the process with SIGBUS (seen in
// logFile.bootstrap at Open) instead of returning ENOSPC. So the cache
// checks the free space of its file system before opening the index and
// before each entry is committed, and stops with a DiskFullError.

// minFreeBytes is the free space the cache needs to open and write its
// index: Open creates a 2 MB write-ahead log (twice the 1 MB memtable) and
// the first page of a value log, a memtable flush writes a ~1 MB table,
// and a compaction rewrites up to two levels of ~1 MB tables
// (badgerOptions). 32 MB covers these with room for an entry record and a
// stage's log.
const minFreeBytes = 32 << 20

// freeBytes returns the bytes available to an unprivileged user on the
// file system holding dir. Tests replace it.
var freeBytes = statfsFree

// A DiskFullError says that the cache's file system has too little free
// space.
type DiskFullError struct {
	Free  uint64 // bytes available
	Need  uint64 // bytes the cache wants free
	Mount string // the file system's mount point (or the cache directory, where unknown)
	What  string // what the cache was about to do
	Dir   string // the cache directory
}

func (e *DiskFullError) Error() string {
	return fmt.Sprintf("disk full: %d bytes free on %s; refeval needs %d free there to %s. Free some space, pass --cache DIR on another file system, "+
		"or remove the cache folder %s when no refeval runs (everything in it can be rebuilt)",
		e.Free, e.Mount, e.Need, e.What, e.Dir)
}

// checkSpace returns a *DiskFullError if dir's file system has less than
// minFreeBytes free. It returns nil if the free space cannot be read.
func checkSpace(dir, what string) error {
	free, err := freeBytes(dir)
	if err != nil || free >= minFreeBytes {
		return nil
	}
	return &DiskFullError{Free: free, Need: minFreeBytes, Mount: mountPoint(dir), What: what, Dir: dir}
}

// DiskFull returns a *DiskFullError if the cache's file system is nearly
// full, and nil otherwise. The engine calls it when a stage fails, so that
// a stage killed by ENOSPC says why.
func (c *Cache) DiskFull() error {
	return checkSpace(c.dir, "run stages and record their outputs")
}

// IsDiskFull reports whether err is or wraps a *DiskFullError.
func IsDiskFull(err error) bool {
	var d *DiskFullError
	return errors.As(err, &d)
}

// mountPoint returns the mount point of the file system holding dir: the
// highest ancestor on the same device.
func mountPoint(dir string) string {
	fi, err := os.Stat(dir)
	if err != nil {
		return dir
	}
	dev := statKeyOf(fi).Dev
	for {
		parent := filepath.Dir(dir)
		if parent == dir {
			return dir
		}
		pi, err := os.Stat(parent)
		if err != nil || statKeyOf(pi).Dev != dev {
			return dir
		}
		dir = parent
	}
}
