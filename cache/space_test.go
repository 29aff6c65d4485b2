package cache

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDiskFull gives the cache too little free space (through freeBytes):
// Open and Put stop with "disk full: N bytes free on FS" before Badger
// writes anything, and DiskFull reports it.
func TestDiskFull(t *testing.T) {
	free := uint64(1 << 40)
	freeBytes = func(string) (uint64, error) { return free, nil }
	t.Cleanup(func() { freeBytes = statfsFree })

	dir := filepath.Join(t.TempDir(), "cache")
	c, err := Open(dir, Options{NoWait: true})
	must(t, err)
	id, files := commit(t, c, map[string]string{"a": "1"})
	a := NewHash("a", nil).Sum()
	if err := c.DiskFull(); err != nil {
		t.Errorf("DiskFull with 1 TB free: %v", err)
	}

	free = 12345
	wantMsg := "disk full: 12345 bytes free on "
	tests := []struct {
		name string
		err  func() error
	}{
		{"Put", func() error { return c.Put(a, &Entry{OutputID: id, Files: files, Addr: "stage.x.a"}) }},
		{"DiskFull", c.DiskFull},
		{"Open", func() error {
			c2, err := Open(filepath.Join(t.TempDir(), "other"), Options{NoWait: true})
			if err == nil {
				c2.Close()
			}
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err()
			if !IsDiskFull(err) || !strings.HasPrefix(err.Error(), wantMsg) {
				t.Errorf("wrong error\ngot:  %v\nwant: %s…", err, wantMsg)
			}
		})
	}
	if _, err := c.Get(a); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after a refused Put: %v; want ErrNotFound", err)
	}
	if _, err := os.Stat(c.recordPath(a)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused Put left an entry record: %v", err)
	}
	must(t, c.Close())
}

// TestDiskFullTmpfs fills a real 40 MB tmpfs (as root; skipped elsewhere).
// Before the check, Badger wrote through its memory-mapped logs on the
// full file system and the process died of SIGBUS; now the nearly full
// file system is "disk full" with its mount point.
func TestDiskFullTmpfs(t *testing.T) {
	mnt := t.TempDir()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a tmpfs")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })

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
