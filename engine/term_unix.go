//go:build linux || darwin

package engine

import (
	"os"
	"syscall"
	"unsafe"
)

// termWidth returns the width in columns of the terminal f, or 0 if f is
// not a terminal or does not say.
func termWidth(f *os.File) int {
	var ws struct{ Row, Col, X, Y uint16 }
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), uintptr(syscall.TIOCGWINSZ), uintptr(unsafe.Pointer(&ws)))
	if errno != 0 {
		return 0
	}
	return int(ws.Col)
}
