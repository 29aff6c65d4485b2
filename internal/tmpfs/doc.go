// Package tmpfs mounts a small tmpfs for tests that need a file system
// they can fill (a full disk under the cache), on Linux as root.
package tmpfs
