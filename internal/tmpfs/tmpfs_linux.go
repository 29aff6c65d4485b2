package tmpfs

import (
	"os"
	"os/exec"
	"syscall"
	"testing"
)

// Mount mounts a 40 MB tmpfs on a fresh test folder and returns it; it is
// unmounted when the test ends. It skips the test where mounting needs
// privileges it lacks.
func Mount(t testing.TB) string {
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
