//go:build !linux

package stages

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

// A procGroup holds the processes of one exec stage: on this platform, its
// process group only (procs_linux.go adds a cgroup).
type procGroup struct{}

type leftover struct {
	pid  int
	name string
}

func newProcGroup() *procGroup { return &procGroup{} }

func (g *procGroup) attr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

func (g *procGroup) dropCgroup() {}

func (g *procGroup) close() {}

// end kills the process group pgid if anything is left in it, and waits
// until it is gone.
func (g *procGroup) end(pgid int) ([]leftover, error) {
	if errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) {
		return nil, nil
	}
	left := []leftover{{pid: -pgid, name: "process group"}}
	deadline := time.Now().Add(5 * time.Second)
	for {
		syscall.Kill(-pgid, syscall.SIGKILL)
		time.Sleep(10 * time.Millisecond)
		if errors.Is(syscall.Kill(-pgid, 0), syscall.ESRCH) {
			return left, nil
		}
		if time.Now().After(deadline) {
			return left, fmt.Errorf("the stage's process group %d would not die", pgid)
		}
	}
}

func describe(ps []leftover) string { return fmt.Sprintf("process group %d", -ps[0].pid) }

func (g *procGroup) usesCgroup() bool { return false }

func cgroupsUsable() bool { return false }
