package stages

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestStartReadOnly checks that a command started by startReadOnly cannot
// write into the read-only folders, can write elsewhere, and that the
// read-only mount does not leak into refeval's own mount namespace.
func TestStartReadOnly(t *testing.T) {
	if !ReadOnlyMounts() {
		if allowed, _ := mountsAllowed(t); allowed {
			t.Fatal("ReadOnlyMounts says no, but unshare(1) and mount(8) make a read-only bind mount in a new mount namespace here")
		}
		t.Skip("no mount namespaces here (not root, or a restricting container); TestReadOnlyFallback covers this case")
	}
	ro, rw := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(ro, "a.txt"), []byte("alpha\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", `
		if echo EVIL >> "$RO/a.txt"; then echo appended; fi
		if touch "$RO/new.txt"; then echo created; fi
		echo ok > "$RW/out.txt"`)
	cmd.Env = append(os.Environ(), "RO="+ro, "RW="+rw)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	sandboxed, err := startReadOnly(cmd, []string{ro})
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if !sandboxed {
		t.Fatal("wrong sandboxed\ngot:  false\nwant: true (ReadOnlyMounts said it works)")
	}
	if strings.Contains(log.String(), "appended") || strings.Contains(log.String(), "created") || !strings.Contains(log.String(), "Read-only file system") {
		t.Errorf("wrong log: the command could write into the read-only folder\n%s", log.String())
	}
	if got, _ := os.ReadFile(filepath.Join(ro, "a.txt")); string(got) != "alpha\n" {
		t.Errorf("wrong read-only file\ngot:  %q\nwant: %q", got, "alpha\n")
	}
	if got, _ := os.ReadFile(filepath.Join(rw, "out.txt")); string(got) != "ok\n" {
		t.Errorf("wrong writable file\ngot:  %q\nwant: %q", got, "ok\n")
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(mounts), ro) {
		t.Errorf("the read-only mount of %s leaked into refeval's mount namespace", ro)
	}
	// refeval itself can still write there.
	if err := os.WriteFile(filepath.Join(ro, "b.txt"), nil, 0o644); err != nil {
		t.Errorf("refeval cannot write into %s after the command ran: %v", ro, err)
	}
}

// TestReadOnlyFallback checks that where a mount namespace is not allowed
// (here: an unprivileged user), startReadOnly starts the command anyway,
// without the read-only mount and without an error. As root, it reruns
// itself as nobody.
func TestReadOnlyFallback(t *testing.T) {
	if os.Getuid() != 0 {
		cmd := exec.Command("sh", "-c", "echo ran")
		var out strings.Builder
		cmd.Stdout = &out
		sandboxed, err := startReadOnly(cmd, []string{os.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
		if sandboxed || out.String() != "ran\n" {
			t.Errorf("wrong fallback\ngot:  sandboxed %v, output %q\nwant: sandboxed false, output %q", sandboxed, out.String(), "ran\n")
		}
		return
	}
	if os.Getenv("REFEVAL_TEST_AS_NOBODY") != "" {
		t.Fatal("still root after dropping privileges")
	}
	// The test binary's folder is private to root: copy it where nobody
	// can run it.
	dir, err := os.MkdirTemp("", "refeval-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "stages.test")
	copyFile(t, self, bin)
	cmd := exec.Command(bin, "-test.run=^TestReadOnlyFallback$", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "REFEVAL_TEST_AS_NOBODY=1", "HOME="+dir, "TMPDIR="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestReadOnlyFallback") {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
