package stages

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// A procGroup holds the processes of one exec stage so that none outlives
// it: the command's process group and, where cgroup v2 lets refeval create
// a child of its own cgroup (as root, or in a delegated subtree), a cgroup
// of its own, which also holds the processes that left the group (setsid,
// double fork). Once the command exits, end kills whatever is left and
// waits until it is gone, before the stage's output is hashed.
type procGroup struct {
	cgroup string // the stage's cgroup folder; "" if there is none
	fd     int    // open cgroup folder, for clone3's CLONE_INTO_CGROUP
}

// cgroupsOff is set once creating or entering a cgroup failed: the next
// stages use the process group alone without trying again.
var cgroupsOff atomic.Bool

var cgroupSeq atomic.Int64

// cgroupBase is the cgroup v2 folder refeval runs in, or "" if there is
// none it can find.
var cgroupBase = sync.OnceValue(func() string {
	mnt := cgroup2Mount()
	if mnt == "" {
		return ""
	}
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "0::"); ok {
			base := filepath.Join(mnt, filepath.FromSlash(rest))
			removeStaleCgroups(base)
			return base
		}
	}
	return ""
})

// cgroup2Mount returns where the cgroup v2 hierarchy is mounted
// (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid systems), or "".
func cgroup2Mount() string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - cgroup2 cgroup2 rw
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok || !strings.HasPrefix(post, "cgroup2 ") {
			continue
		}
		if fields := strings.Fields(pre); len(fields) >= 5 {
			return fields[4]
		}
	}
	return ""
}

// removeStaleCgroups removes the cgroups that refeval processes no longer
// running left under base (they were killed before they could), killing
// what their stages left running: it writes only into uncommitted temp
// folders.
func removeStaleCgroups(base string) {
	entries, _ := os.ReadDir(base)
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), "refeval-")
		if !ok || !e.IsDir() {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid == os.Getpid() || syscall.Kill(pid, 0) == nil {
			continue
		}
		dir := filepath.Join(base, e.Name())
		if syscall.Rmdir(dir) == nil {
			continue
		}
		os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
		for range 20 {
			time.Sleep(5 * time.Millisecond)
			if syscall.Rmdir(dir) == nil {
				break
			}
		}
	}
}

// newProcGroup makes a cgroup for one stage where it can.
func newProcGroup() *procGroup {
	g := &procGroup{fd: -1}
	if cgroupsOff.Load() {
		return g
	}
	base := cgroupBase()
	if base == "" {
		cgroupsOff.Store(true)
		return g
	}
	dir := filepath.Join(base, fmt.Sprintf("refeval-%d-%d", os.Getpid(), cgroupSeq.Add(1)))
	if err := os.Mkdir(dir, 0o755); err != nil {
		cgroupsOff.Store(true)
		return g
	}
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		syscall.Rmdir(dir)
		cgroupsOff.Store(true)
		return g
	}
	g.cgroup, g.fd = dir, fd
	return g
}

// attr returns the process attributes that start the command in its own
// process group, and in the stage's cgroup if there is one.
func (g *procGroup) attr() *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Setpgid: true}
	if g.cgroup != "" {
		a.UseCgroupFD, a.CgroupFD = true, g.fd
	}
	return a
}

// dropCgroup gives up the stage's cgroup, and cgroups for the next stages,
// after starting a command in it failed where starting it without worked
// (old kernel, cgroup rules).
func (g *procGroup) dropCgroup() {
	cgroupsOff.Store(true)
	g.close()
}

// A leftover is a process that outlived its stage's command.
type leftover struct {
	pid  int
	name string
}

// end kills every process of the stage still alive (the process group
// pgid, and the cgroup) and waits until they are gone. It returns those it
// found, and an error if some would not die within a few seconds.
func (g *procGroup) end(pgid int) ([]leftover, error) {
	left := g.alive(pgid)
	if len(left) == 0 {
		return nil, nil
	}
	deadline := time.Now().Add(5 * time.Second)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		syscall.Kill(-pgid, syscall.SIGKILL)
		if g.cgroup != "" {
			if os.WriteFile(filepath.Join(g.cgroup, "cgroup.kill"), []byte("1"), 0) != nil {
				for _, p := range g.alive(pgid) {
					syscall.Kill(p.pid, syscall.SIGKILL)
				}
			}
		}
		time.Sleep(wait)
		still := g.alive(pgid)
		if len(still) == 0 {
			return left, nil
		}
		if time.Now().After(deadline) {
			return left, fmt.Errorf("%d processes of the stage would not die: %s", len(still), describe(still))
		}
	}
}

// alive lists the live (not zombie) processes of the stage.
func (g *procGroup) alive(pgid int) []leftover {
	seen := map[int]bool{}
	var out []leftover
	add := func(pid int) {
		if seen[pid] {
			return
		}
		seen[pid] = true
		if name, state, _, ok := procStat(pid); ok && state != 'Z' && state != 'X' {
			out = append(out, leftover{pid: pid, name: name})
		}
	}
	if g.cgroup != "" {
		if data, err := os.ReadFile(filepath.Join(g.cgroup, "cgroup.procs")); err == nil {
			for _, f := range strings.Fields(string(data)) {
				if pid, err := strconv.Atoi(f); err == nil {
					add(pid)
				}
			}
		}
	}
	// kill(-pgid, 0) is the cheap test; /proc is scanned only when the
	// group still has members (perhaps zombies only).
	if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			pid, err := strconv.Atoi(e.Name())
			if err != nil || seen[pid] {
				continue
			}
			if _, _, pg, ok := procStat(pid); ok && pg == pgid {
				add(pid)
			}
		}
	}
	return out
}

// procStat reads a process's name, state and process group from
// /proc/PID/stat.
func procStat(pid int) (name string, state byte, pgid int, ok bool) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, 0, false
	}
	// pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
	s := string(data)
	open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || end < open {
		return "", 0, 0, false
	}
	fields := strings.Fields(s[end+1:])
	if len(fields) < 3 {
		return "", 0, 0, false
	}
	pg, err := strconv.Atoi(fields[2])
	if err != nil || len(fields[0]) != 1 {
		return "", 0, 0, false
	}
	return s[open+1 : end], fields[0][0], pg, true
}

// close removes the stage's cgroup (empty once end returned).
func (g *procGroup) close() {
	if g.fd >= 0 {
		syscall.Close(g.fd)
		g.fd = -1
	}
	if g.cgroup != "" {
		syscall.Rmdir(g.cgroup)
		g.cgroup = ""
	}
}

// describe names processes as "pid 12 (sleep), pid 13 (sh)".
func describe(ps []leftover) string {
	var parts []string
	for i, p := range ps {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(ps)-i))
			break
		}
		parts = append(parts, fmt.Sprintf("pid %d (%s)", p.pid, p.name))
	}
	return strings.Join(parts, ", ")
}

// usesCgroup reports whether the stage has a cgroup of its own.
func (g *procGroup) usesCgroup() bool { return g.cgroup != "" }

// cgroupsUsable reports whether exec stages get cgroups of their own here.
func cgroupsUsable() bool {
	g := newProcGroup()
	defer g.close()
	return g.usesCgroup()
}
