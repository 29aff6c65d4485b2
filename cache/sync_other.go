//go:build !unix

package cache

// isSyncUnsupported treats every folder-fsync error as "unsupported":
// Windows cannot fsync folders at all.
func isSyncUnsupported(err error) bool { return true }
