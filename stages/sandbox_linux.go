package stages

import (
	"os/exec"
	"runtime"
	"sync/atomic"
	"syscall"
)

// Read-only upstream outputs. Where Linux lets refeval make a mount
// namespace (it needs CAP_SYS_ADMIN: root outside a restricted container),
// an exec command starts in a private one in which the folders of
// RunContext.ReadOnly (the cache's out/ folder: every committed output)
// are bind-mounted read-only, the way Bazel's sandbox mounts inputs: a
// write into an upstream output then fails with "Read-only file system"
// even for root, for which read-only file modes stop nothing. Where it is
// not allowed, commands start as they are and the engine's check after
// each stage (engine/seal.go) is the only defence.
//
// The namespace is made on a locked OS thread of refeval itself
// (unshare(CLONE_NEWNS) works per thread), and the command is forked from
// that thread, so it inherits the namespace; no helper binary is needed.
// The thread is never unlocked, so the Go runtime ends it with its
// goroutine and no other goroutine ever runs in that namespace.

// sandboxOff is set once making a namespace failed: later stages do not
// try again.
var sandboxOff atomic.Bool

// startReadOnly starts cmd with the folders ro mounted read-only, where the
// system allows; otherwise it starts cmd as it is. sandboxed says which.
func startReadOnly(cmd *exec.Cmd, ro []string) (sandboxed bool, err error) {
	if len(ro) == 0 || sandboxOff.Load() {
		return false, cmd.Start()
	}
	type result struct {
		ok  bool
		err error
	}
	ch := make(chan result, 1)
	var run func()
	run = func() {
		runtime.LockOSThread()
		if syscall.Gettid() == syscall.Getpid() {
			// The main thread cannot be ended, and /proc/self shows its
			// namespace: hold it, so that another goroutine gets another
			// thread, and let it go once that one is done.
			done := make(chan struct{})
			go func() { run(); close(done) }()
			<-done
			runtime.UnlockOSThread()
			return
		}
		// Never unlocked: the thread dies with this goroutine.
		if err := enterReadOnly(ro); err != nil {
			ch <- result{false, err}
			return
		}
		ch <- result{true, cmd.Start()}
	}
	go run()
	r := <-ch
	if !r.ok {
		sandboxOff.Store(true)
		return false, cmd.Start()
	}
	return true, r.err
}

// keptFlags are the mount flags a read-only remount must keep: in a user
// namespace the kernel refuses to drop them (EPERM).
const keptFlags = syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC | syscall.MS_NOATIME | syscall.MS_NODIRATIME | syscall.MS_RELATIME

// enterReadOnly moves the calling thread into a new mount namespace in
// which the folders ro are read-only.
func enterReadOnly(ro []string) error {
	if err := syscall.Unshare(syscall.CLONE_NEWNS); err != nil {
		return err
	}
	// Private first, so that nothing below propagates to the host's mounts.
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return err
	}
	for _, d := range ro {
		if err := syscall.Mount(d, d, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			return err
		}
		var st syscall.Statfs_t
		if err := syscall.Statfs(d, &st); err != nil {
			return err
		}
		flags := uintptr(syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY) | uintptr(st.Flags)&keptFlags
		if err := syscall.Mount("", d, "", flags, ""); err != nil {
			return err
		}
	}
	return nil
}

// ReadOnlyMounts reports whether exec commands get read-only upstream
// outputs here: it starts `true` in a namespace, as a stage would.
func ReadOnlyMounts() bool {
	cmd := exec.Command("true")
	ok, err := startReadOnly(cmd, []string{"/"})
	if err != nil {
		return false
	}
	cmd.Wait()
	return ok
}
