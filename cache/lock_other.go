//go:build !unix

package cache

import (
	"os"
	"strconv"
)

// tryLock records our pid but takes no lock of its own: on these platforms
// Badger's lock on index/ is the only one, and Open turns its failure into
// errBusy.
func tryLock(path string) (release func(), err error) {
	os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o666)
	return func() {}, nil
}
