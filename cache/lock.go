package cache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ErrLocked is wrapped by the error Open returns, with Options.NoWait, when
// another process holds the cache directory.
var ErrLocked = errors.New("cache directory is in use by another process")

// errBusy is what tryLock returns when the lock is held elsewhere.
var errBusy = errors.New("busy")

// lockName is the lock file in the cache directory. It holds the owner's
// pid, for messages; the lock itself is an flock on it (Badger takes its own
// flock on index/ as well, which is what protects the index on platforms
// where tryLock is a no-op).
const lockName = "lock"

// Backoff between two attempts to take a busy lock.
const (
	lockPollMin = 20 * time.Millisecond
	lockPollMax = 1 * time.Second
)

// lockOwner returns the pid recorded in dir's lock file, or 0.
func lockOwner(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, lockName))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}

// busyMessage describes who holds dir.
func busyMessage(dir string) string {
	if pid := lockOwner(dir); pid > 0 {
		return fmt.Sprintf("%s (pid %d)", dir, pid)
	}
	return dir
}

// acquire takes dir's lock, waiting (with backoff) unless opt.NoWait. open
// runs under the lock and may itself report errBusy (Badger's own lock), in
// which case acquire waits as well.
func acquire(dir string, opt Options, open func() error) (release func(), err error) {
	wait := lockPollMin
	warned := false
	for {
		release, err := tryLock(filepath.Join(dir, lockName))
		if err == nil {
			err = open()
			if err == nil {
				if !lockWritesPid {
					os.WriteFile(filepath.Join(dir, lockName), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o666)
				}
				return release, nil
			}
			release()
		}
		if !errors.Is(err, errBusy) {
			return nil, err
		}
		if opt.NoWait {
			// The caller knows how its user can wait or pick another
			// folder, so the error only says who holds this one.
			return nil, fmt.Errorf("%w: %s", ErrLocked, busyMessage(dir))
		}
		if !warned {
			warned = true
			if opt.Waiting != nil {
				opt.Waiting(fmt.Sprintf("waiting for another refeval using %s", busyMessage(dir)))
			}
		}
		time.Sleep(wait)
		wait = min(2*wait, lockPollMax)
	}
}
