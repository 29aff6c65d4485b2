package cache

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refeval/refeval/internal/tmpfs"
)

// TestCloseForExitDiskFull runs a session that writes an entry, fills its
// real 40 MB tmpfs (as root; skipped elsewhere) and exits through
// CloseForExit, as a build whose stage filled the disk does. The session
// must exit normally, saying the disk is full, and the entry must be there
// once space is freed.
func TestCloseForExitDiskFull(t *testing.T) {
	mnt := tmpfs.Mount(t)

	dir := filepath.Join(mnt, "cache")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), fullExitEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("session that filled the disk: %v, want a normal exit\n%s", err, out)
	}
	if !strings.Contains(string(out), "disk full: ") || !strings.Contains(string(out), "left for the next run to recover") {
		t.Errorf("session that filled the disk said:\n%s\nwant the disk-full warning", out)
	}
	must(t, os.Remove(filepath.Join(mnt, "fill")))
	c, err := Open(dir, Options{NoWait: true})
	must(t, err)
	defer c.Close()
	if _, err := c.Get(fullAction); err != nil {
		t.Errorf("entry written before the disk filled: %v", err)
	}
}
