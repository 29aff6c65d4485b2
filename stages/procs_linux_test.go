package stages

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// TestRemoveStaleCgroups checks that the cgroup of a refeval that died is
// removed, and what its stage left running is killed, while the cgroup of
// a live refeval is kept.
func TestRemoveStaleCgroups(t *testing.T) {
	if !cgroupsUsable() {
		if cgroupsAllowed(t) {
			t.Fatal("cgroupsUsable says no, but this process may create a child of its cgroup v2 folder")
		}
		t.Skip("no cgroup v2 folder refeval may create here")
	}
	base := cgroupBase()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(base, fmt.Sprintf("refeval-%d-1", dead.Process.Pid))
	live := filepath.Join(base, fmt.Sprintf("refeval-%d-999999", os.Getppid()))
	for _, d := range []string{stale, live} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	defer syscall.Rmdir(live)
	defer syscall.Rmdir(stale)
	orphan := exec.Command("sleep", "30")
	if err := orphan.Start(); err != nil {
		t.Fatal(err)
	}
	defer orphan.Process.Kill()
	if err := os.WriteFile(filepath.Join(stale, "cgroup.procs"), []byte(strconv.Itoa(orphan.Process.Pid)), 0); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- orphan.Wait() }()

	removeStaleCgroups(base)
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("the process left in the stale cgroup is still running")
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		// The kill raced the last rmdir; the next refeval removes it.
		removeStaleCgroups(base)
		if _, err := os.Stat(stale); !os.IsNotExist(err) {
			t.Errorf("stale cgroup %s not removed", stale)
		}
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("cgroup of a live refeval removed: %v", err)
	}
}
