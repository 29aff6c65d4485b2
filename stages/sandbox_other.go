//go:build !linux

package stages

import "os/exec"

// startReadOnly starts cmd as it is: only Linux mount namespaces make
// upstream outputs read-only (sandbox_linux.go).
func startReadOnly(cmd *exec.Cmd, ro []string) (sandboxed bool, err error) {
	return false, cmd.Start()
}

// ReadOnlyMounts reports whether exec commands get read-only upstream
// outputs here: never on this platform.
func ReadOnlyMounts() bool { return false }
