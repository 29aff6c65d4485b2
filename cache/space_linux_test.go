package cache

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refeval/refeval/internal/tmpfs"
)

// TestDiskFullTmpfs fills a real 40 MB tmpfs (as root; skipped elsewhere).
// Before the check, Badger wrote through its memory-mapped logs on the
// full file system and the process died of SIGBUS; now the nearly full
// file system is "disk full" with its mount point.
func TestDiskFullTmpfs(t *testing.T) {
	mnt := tmpfs.Mount(t)

	dir := filepath.Join(mnt, "cache")
	c, err := Open(dir, Options{NoWait: true})
	must(t, err)
	id, files := commit(t, c, map[string]string{"a": "1"})
	// Fill the file system to 16 MB free.
	fill, err := os.Create(filepath.Join(mnt, "fill"))
	must(t, err)
	free, err := statfsFree(mnt)
	must(t, err)
	chunk := make([]byte, 1<<20)
	for n := int64(free) - 16<<20; n > 0; n -= int64(len(chunk)) {
		if _, err := fill.Write(chunk[:min(int64(len(chunk)), n)]); err != nil {
			t.Fatalf("filling the tmpfs: %v", err)
		}
	}
	must(t, fill.Close())
	a := NewHash("a", nil).Sum()
	if err := c.Put(a, &Entry{OutputID: id, Files: files}); !IsDiskFull(err) || !strings.Contains(err.Error(), "bytes free on "+mnt) {
		t.Errorf("Put on a nearly full disk: %v; want disk full naming %s", err, mnt)
	}
	must(t, c.Close())
	if _, err := Open(dir, Options{NoWait: true}); !IsDiskFull(err) {
		t.Errorf("Open on a nearly full disk: %v; want disk full", err)
	}
	// Freed, the cache opens again.
	must(t, os.Remove(filepath.Join(mnt, "fill")))
	c, err = Open(dir, Options{NoWait: true})
	must(t, err)
	must(t, c.Close())
}
