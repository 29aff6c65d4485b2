//go:build !unix

package cache

// tryLock takes no lock of its own: on these platforms Badger's lock on
// index/ is the only one, and Open turns its failure into errBusy. The pid
// is recorded by acquire once Badger's lock is held.
func tryLock(path string) (release func(), err error) { return func() {}, nil }

// lockWritesPid says whether tryLock records the pid itself.
const lockWritesPid = false
