package stages

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The tests of the read-only mount and of the stage cgroups skip where the
// system does not allow them. Whether it does is decided here without
// refeval's own code, so that a broken sandbox or cgroup setup fails those
// tests instead of making them skip.

// mountsAllowed reports whether util-linux's unshare and mount can make a
// private mount namespace with a read-only bind mount here, what
// startReadOnly does. known is false when the tools are missing.
func mountsAllowed(t *testing.T) (allowed, known bool) {
	t.Helper()
	if _, err := exec.LookPath("unshare"); err != nil {
		return false, false
	}
	if _, err := exec.LookPath("mount"); err != nil {
		return false, false
	}
	dir := t.TempDir()
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount --bind "$1" "$1" && mount -o remount,bind,ro "$1"`, "sh", dir)
	return cmd.Run() == nil, true
}

// cgroupsAllowed reports whether this process may create a child of its own
// cgroup v2 folder, what newProcGroup does.
func cgroupsAllowed(t *testing.T) bool {
	t.Helper()
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	defer f.Close()
	mnt := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if fields := strings.Fields(pre); ok && strings.HasPrefix(post, "cgroup2 ") && len(fields) >= 5 {
			mnt = fields[4]
			break
		}
	}
	data, err := os.ReadFile("/proc/self/cgroup")
	if mnt == "" || err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			dir, err := os.MkdirTemp(filepath.Join(mnt, rest), "refeval-probe-")
			if err != nil {
				return false
			}
			os.Remove(dir)
			return true
		}
	}
	return false
}
