package cache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// fullExitEnv names the cache directory a re-executed test binary writes an
// entry to, then fills the cache's file system and leaves with
// CloseForExit (see TestMain and TestCloseForExitDiskFull).
const fullExitEnv = "REFEVAL_CACHE_TEST_FULL_EXIT"

var fullAction = NewHash("full", nil).Sum()

// fillAndExit is the re-executed test binary's part: a session that wrote
// an entry and whose stage then filled the disk. Before CloseForExit
// checked the free space, Badger's flush at Close died of SIGBUS here.
func fillAndExit(dir string) int {
	c, err := Open(dir, Options{NoWait: true})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	tmp, err := c.NewOutputDir()
	if err == nil {
		err = os.WriteFile(filepath.Join(tmp, "a"), []byte("1"), 0o644)
	}
	var id ID
	var files []File
	if err == nil {
		id, files, err = c.CommitOutput(tmp)
	}
	if err == nil {
		err = c.Put(fullAction, &Entry{OutputID: id, Files: files})
	}
	if err == nil {
		err = fill(filepath.Join(filepath.Dir(dir), "fill"))
	}
	if err == nil {
		err = c.CloseForExit()
	}
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	return 0
}

// fill writes the file p until its file system has no space left.
func fill(p string) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return nil
			}
			return err
		}
	}
}
