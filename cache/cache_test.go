package cache

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// openTest opens a cache in a fresh temp folder, closed at the end of the test.
func openTest(t testing.TB) *Cache {
	t.Helper()
	c, err := Open(filepath.Join(t.TempDir(), "cache"), Options{NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// settledClock makes every file look old enough for the stat cache.
func settledClock(c *Cache) { c.now = func() time.Time { return time.Now().Add(time.Hour) } }

// reads counts content reads per path through readHook.
type reads struct {
	mu sync.Mutex
	n  map[string]int
}

func countReads(t *testing.T) *reads {
	r := &reads{n: map[string]int{}}
	readHook = func(p string) {
		r.mu.Lock()
		r.n[p]++
		r.mu.Unlock()
	}
	t.Cleanup(func() { readHook = nil })
	return r
}

func (r *reads) of(p string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n[p]
}

// writeFiles creates files (name → content) under dir; names ending in "*"
// are made executable (the star is dropped).
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		mode := os.FileMode(0o644)
		if name[len(name)-1] == '*' {
			name, mode = name[:len(name)-1], 0o755
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
}
