package cache

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestReadOnlyOpen checks that Open opens a closed index read-only and one
// a crash left for writing (Badger must replay it), that the first write
// reopens a read-only index for writing while other goroutines read, that
// every entry reads the same before and after, and that a session which
// had to open for writing and wrote nothing leaves an index the next Open
// opens read-only.
func TestReadOnlyOpen(t *testing.T) {
	tests := []struct {
		name      string
		crash     bool // replace index/ with a copy taken while it was open
		wantFirst bool // whether the first Open is read-only
	}{
		{"closed index", false, true},
		{"after a crash", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := populate(t)
			if tt.crash {
				must(t, os.RemoveAll(filepath.Join(p.dir, indexDir)))
				copyDir(t, p.live, filepath.Join(p.dir, indexDir))
			}
			// Nothing here is damaged: a warning is a wrong repair.
			opt := Options{NoWait: true, Warn: func(msg string) { t.Errorf("unexpected warning: %s", msg) }}
			c, err := Open(p.dir, opt)
			must(t, err)
			if got := c.ro != nil; got != tt.wantFirst {
				t.Fatalf("wrong read-only state of the first Open\ngot:  %v\nwant: %v", got, tt.wantFirst)
			}
			getAll(t, c, p.outputs)
			must(t, c.CloseForExit())
			c.release() // as the process's exit would

			c, err = Open(p.dir, opt)
			must(t, err)
			if c.ro == nil {
				t.Fatalf("Open after a session that wrote nothing opened the index for writing; want read-only")
			}
			// Readers run while the first write reopens the index.
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for range 4 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						for a, want := range p.outputs {
							if e, err := c.Get(a); err != nil || e.OutputID != want {
								t.Errorf("Get %s while reopening: %v, %v; want output %s", a, e, err, want)
								return
							}
						}
					}
				})
			}
			// The first write is a Put of a new action naming an output
			// already there: its record is written before the index.
			var old *Entry
			for _, e := range p.entries {
				old = e
			}
			id := old.OutputID
			added := NewHash("added", nil).Sum()
			must(t, c.Put(added, &Entry{OutputID: id, Files: old.Files}))
			close(stop)
			wg.Wait()
			if c.db.Load() == c.ro {
				t.Fatalf("index still read-only after Put")
			}
			p.outputs[added] = id
			getAll(t, c, p.outputs)
			must(t, c.CloseForExit())

			c, err = Open(p.dir, opt)
			must(t, err)
			defer c.Close()
			if c.ro == nil {
				t.Errorf("Open after a session that wrote and closed opened the index for writing; want read-only")
			}
			getAll(t, c, p.outputs)
			if err := c.damaged(); err != nil {
				t.Errorf("index damaged: %v", err)
			}
		})
	}
}

// getAll checks that every action has its entry, naming its output.
func getAll(t *testing.T, c *Cache, outputs map[ID]ID) {
	t.Helper()
	for a, want := range outputs {
		if e, err := c.Get(a); err != nil || e.OutputID != want {
			t.Fatalf("Get %s: %v, %v; want output %s", a, e, err, want)
		}
	}
}
