package tmpfs

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// Mount mounts a 40 MB tmpfs on a fresh test folder and returns it; it is
// unmounted when the test ends. It skips the test where mounting needs
// privileges it lacks, and fails it instead under CI (CI=true), which runs
// as root (scripts/test.sh starts Slurm too), so that the disk-full tests
// cannot silently stop running there.
func Mount(t testing.TB) string {
	t.Helper()
	mnt := t.TempDir()
	skip := t.Skipf
	if os.Getenv("CI") == "true" {
		skip = t.Fatalf
	}
	if os.Geteuid() != 0 {
		skip("needs root to mount a tmpfs")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", mnt).CombinedOutput(); err != nil {
		skip("cannot mount a tmpfs here: %v: %s", err, out)
	}
	t.Cleanup(func() { syscall.Unmount(mnt, syscall.MNT_DETACH) })
	return mnt
}
