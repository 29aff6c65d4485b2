package cache

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestDigestPathMatchesDigestBytes(t *testing.T) {
	c := openTest(t)
	for _, size := range []int{0, 1, segmentSize - 1, segmentSize, segmentSize + 1, 3*segmentSize + 5} {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(i*31 + i>>11)
		}
		p := filepath.Join(t.TempDir(), "f")
		must(t, os.WriteFile(p, b, 0o644))
		got, err := c.DigestPath(p)
		if err != nil {
			t.Fatal(err)
		}
		if want := DigestBytes(b); got != want {
			t.Errorf("size %d: wrong digest\ngot:  %s\nwant: %s", size, got, want)
		}
	}
	if DigestBytes([]byte("a")) == DigestBytes([]byte("b")) || DigestBytes(nil) == DigestBytes([]byte{0}) {
		t.Errorf("different contents give the same digest")
	}
}

func TestStatCache(t *testing.T) {
	old := time.Now().Add(-time.Hour)
	tests := []struct {
		name       string
		change     func(t *testing.T, p string)
		wantReread bool
		wantSame   bool // digest unchanged
	}{
		{"unchanged", func(t *testing.T, p string) {}, false, true},
		{"mtime touched", func(t *testing.T, p string) { must(t, os.Chtimes(p, old, old.Add(time.Second))) }, true, true},
		{"content changed, same size, mtime restored", func(t *testing.T, p string) {
			must(t, os.WriteFile(p, []byte("HELLO"), 0o644))
			must(t, os.Chtimes(p, old, old)) // only ctime tells
		}, true, false},
		{"replaced by rename", func(t *testing.T, p string) {
			q := p + ".new"
			must(t, os.WriteFile(q, []byte("hello"), 0o644))
			must(t, os.Chtimes(q, old, old))
			must(t, os.Rename(q, p))
		}, true, true},
		{"size changed", func(t *testing.T, p string) {
			must(t, os.WriteFile(p, []byte("hello!"), 0o644))
			must(t, os.Chtimes(p, old, old))
		}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openTest(t)
			settledClock(c)
			r := countReads(t)
			p := filepath.Join(t.TempDir(), "in.txt")
			must(t, os.WriteFile(p, []byte("hello"), 0o644))
			must(t, os.Chtimes(p, old, old))
			first, err := c.DigestPath(p)
			must(t, err)
			if again, err := c.DigestPath(p); err != nil || again != first || r.of(p) != 1 {
				t.Fatalf("wrong second digest of an unchanged file\ngot:  %s, %d reads, %v\nwant: %s, 1 read", again, r.of(p), err, first)
			}
			tt.change(t, p)
			got, err := c.DigestPath(p)
			must(t, err)
			if reread := r.of(p) > 1; reread != tt.wantReread {
				t.Errorf("wrong reread\ngot:  %v\nwant: %v", reread, tt.wantReread)
			}
			if (got == first) != tt.wantSame {
				t.Errorf("wrong digest\ngot:  %s\nfirst: %s\nwant same: %v", got, first, tt.wantSame)
			}
		})
	}
}

// TestStatCacheRacy checks that a file modified just before it was hashed
// is rehashed next time, since a second write in the same timestamp tick
// would leave its stat unchanged.
func TestStatCacheRacy(t *testing.T) {
	c := openTest(t) // real clock: the file below is younger than modTimeCutoff
	r := countReads(t)
	p := filepath.Join(t.TempDir(), "in.txt")
	must(t, os.WriteFile(p, []byte("hello"), 0o644))
	for i := 1; i <= 2; i++ {
		if _, err := c.DigestPath(p); err != nil {
			t.Fatal(err)
		}
		if r.of(p) != i {
			t.Fatalf("wrong reads of a just-written file\ngot:  %d\nwant: %d", r.of(p), i)
		}
	}
	// The same file, hashed when it is old enough, is remembered.
	settledClock(c)
	c.DigestPath(p)
	c.DigestPath(p)
	if r.of(p) != 3 {
		t.Errorf("wrong reads once settled\ngot:  %d\nwant: 3", r.of(p))
	}
}

func TestFolderDigest(t *testing.T) {
	base := map[string]string{"a.txt": "alpha", "sub/b.txt": "bravo", "sub/deep/c.sh*": "run"}
	tests := []struct {
		name     string
		change   func(t *testing.T, dir string)
		wantSame bool
	}{
		{"nothing", func(t *testing.T, dir string) {}, true},
		{"empty folder added", func(t *testing.T, dir string) { must(t, os.Mkdir(filepath.Join(dir, "empty"), 0o755)) }, false},
		{"empty folder removed", func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, "void"))) }, false},
		{"empty folder renamed", func(t *testing.T, dir string) {
			must(t, os.Rename(filepath.Join(dir, "void"), filepath.Join(dir, "vacuum")))
		}, false},
		{"empty folder moved into another", func(t *testing.T, dir string) {
			must(t, os.Rename(filepath.Join(dir, "void"), filepath.Join(dir, "sub/void")))
		}, false},
		{"folder touched", func(t *testing.T, dir string) {
			must(t, os.Chtimes(filepath.Join(dir, "void"), time.Unix(1, 0), time.Unix(1, 0)))
		}, true},
		{"file added", func(t *testing.T, dir string) { writeFiles(t, dir, map[string]string{"sub/new": ""}) }, false},
		{"file renamed", func(t *testing.T, dir string) {
			must(t, os.Rename(filepath.Join(dir, "sub/b.txt"), filepath.Join(dir, "sub/B.txt")))
		}, false},
		{"file moved to another folder", func(t *testing.T, dir string) {
			must(t, os.Rename(filepath.Join(dir, "sub/b.txt"), filepath.Join(dir, "b.txt")))
		}, false},
		{"exec bit cleared", func(t *testing.T, dir string) { must(t, os.Chmod(filepath.Join(dir, "sub/deep/c.sh"), 0o644)) }, false},
		{"exec bit set", func(t *testing.T, dir string) { must(t, os.Chmod(filepath.Join(dir, "a.txt"), 0o755)) }, false},
		{"content changed", func(t *testing.T, dir string) { writeFiles(t, dir, map[string]string{"a.txt": "ALPHA"}) }, false},
		{"file removed", func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, "a.txt"))) }, false},
		{"symlink to a file", func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, "a.txt")))
			target := filepath.Join(t.TempDir(), "target")
			must(t, os.WriteFile(target, []byte("alpha"), 0o644))
			must(t, os.Symlink(target, filepath.Join(dir, "a.txt")))
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openTest(t)
			dir := t.TempDir()
			writeFiles(t, dir, base)
			must(t, os.Mkdir(filepath.Join(dir, "void"), 0o755))
			before, err := c.DigestPath(dir)
			must(t, err)
			tt.change(t, dir)
			after, err := c.DigestPath(dir)
			must(t, err)
			if (before == after) != tt.wantSame {
				t.Errorf("wrong folder digest equality\ngot:  %s vs %s\nwant same: %v", before, after, tt.wantSame)
			}
		})
	}
}

func TestDigestPathErrors(t *testing.T) {
	c := openTest(t)
	dir := t.TempDir()
	must(t, os.Mkdir(filepath.Join(dir, "real"), 0o755))
	must(t, os.Symlink(filepath.Join(dir, "real"), filepath.Join(dir, "linkdir")))
	tests := []struct {
		name string
		path string
		is   error
	}{
		{"missing file", filepath.Join(dir, "nope.txt"), fs.ErrNotExist},
		{"dangling symlink in folder", "", fs.ErrNotExist},
		{"symlink to folder in folder", dir, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.path
			if p == "" {
				p = t.TempDir()
				must(t, os.Symlink(filepath.Join(p, "gone"), filepath.Join(p, "dangling")))
			}
			_, err := c.DigestPath(p)
			if err == nil {
				t.Fatalf("no error for %s", p)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("wrong error\ngot:  %v\nwant: wrapping %v", err, tt.is)
			}
		})
	}
}
