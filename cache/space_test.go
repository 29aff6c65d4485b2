package cache

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
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
		{"Put", func() error { return c.Put(a, &Entry{OutputID: id, Files: files, Name: "stage.x.a"}) }},
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
