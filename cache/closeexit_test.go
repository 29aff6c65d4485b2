package cache

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// getExitEnv names the cache directory a re-executed test binary opens,
// reads the entry of exitAction from, and leaves with CloseForExit (see
// TestMain).
const getExitEnv = "REFEVAL_CACHE_TEST_GET_EXIT"

var exitAction = NewHash("exit", nil).Sum()

// getAndExit is the re-executed test binary's part: a no-op session.
func getAndExit(dir string) int {
	c, err := Open(dir, Options{NoWait: true})
	if err == nil {
		_, err = c.Get(exitAction)
	}
	if err == nil {
		err = c.CloseForExit()
	}
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	return 0
}

// TestCloseForExit checks that sessions which only read, ended by
// CloseForExit and the process's exit, leave the index folder as they
// found it (opened read-only, readonly.go: no file created, removed or
// resized) and an index that opens with every entry and takes writes; and
// that after a write CloseForExit closes.
func TestCloseForExit(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	c, err := Open(dir, Options{NoWait: true})
	must(t, err)
	id, files := commit(t, c, map[string]string{"a": "1"})
	must(t, c.Put(exitAction, &Entry{OutputID: id, Files: files}))
	// A write: CloseForExit must close, so that this process can open it again.
	must(t, c.CloseForExit())
	index := filepath.Join(dir, indexDir)
	if _, err := os.Stat(filepath.Join(index, "LOCK")); !os.IsNotExist(err) {
		t.Fatalf("Badger's LOCK file after CloseForExit of a session that wrote: %v, want it removed by Close", err)
	}

	before := indexListing(t, index)
	for i := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), getExitEnv+"="+dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("no-op session %d: %v\n%s", i, err, out)
		}
		if after := indexListing(t, index); after != before {
			t.Fatalf("no-op session %d changed the index folder\ngot:  %s\nwant: %s", i, after, before)
		}
	}

	c, err = Open(dir, Options{NoWait: true})
	must(t, err)
	if e, err := c.Get(exitAction); err != nil || e.OutputID != id {
		t.Fatalf("entry after no-op sessions: %v, %v; want output %s", e, err, id)
	}
	// A Touch writes without a Sync: CloseForExit must close after it too.
	c.now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	must(t, c.Touch(exitAction))
	must(t, c.CloseForExit())
	c, err = Open(dir, Options{NoWait: true})
	must(t, err)
	b := NewHash("b", nil).Sum()
	must(t, c.Put(b, &Entry{OutputID: id, Files: files}))
	must(t, c.Close())
	c, err = Open(dir, Options{NoWait: true})
	must(t, err)
	defer c.Close()
	for _, a := range []ID{exitAction, b} {
		if _, err := c.Get(a); err != nil {
			t.Errorf("entry %s after reopening: %v", a, err)
		}
	}
	if err := c.damaged(); err != nil {
		t.Errorf("index damaged after no-op sessions: %v", err)
	}
}

// indexListing lists the files of an index folder with their sizes, in one
// string to compare.
func indexListing(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	must(t, err)
	var b strings.Builder
	for _, e := range ents {
		fi, err := e.Info()
		must(t, err)
		fmt.Fprintf(&b, "%s:%d ", e.Name(), fi.Size())
	}
	return b.String()
}
