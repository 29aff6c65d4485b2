package cache

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDiskFullTmpfs fills a real 40 MB tmpfs (as root; skipped elsewhere).
// Before the check, Badger wrote through its memory-mapped logs on the
// full file system and the process died of SIGBUS; now the nearly full
// file system is "disk full" with its mount point.
func TestDiskFullTmpfs(t *testing.T) {
	mnt := mountTmpfs(t)

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

// mountTmpfs mounts a 40 MB tmpfs on a test folder, unmounted when the
// test ends. It skips the test where that needs privileges it lacks.
func mountTmpfs(t *testing.T) string {
	t.Helper()
	mnt := t.TempDir()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	return mnt
}
