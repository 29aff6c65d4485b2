//go:build !(linux || darwin || freebsd)

package cache

import "errors"

// statfsFree cannot read free space here; checkSpace then checks nothing.
func statfsFree(string) (uint64, error) { return 0, errors.New("free space unknown on this platform") }
