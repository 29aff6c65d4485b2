package remote

import (
	"fmt"
	"os"
	"path/filepath"
)

// Check reports, in one error that says what to do, the folders of the
// spec that this machine cannot see: the pipeline file, the cache folder
// and the output folder must be on a file system shared with the machine
// that runs the build.
func (s *Spec) Check() error {
	missing := NotShared
	if _, err := os.Stat(s.Pipeline); err != nil {
		return missing("pipeline file", s.Pipeline, err)
	}
	if fi, err := os.Stat(filepath.Join(s.Cache, "index")); err != nil || !fi.IsDir() {
		if err == nil {
			err = fmt.Errorf("not a folder")
		}
		return missing("cache folder", s.Cache, err)
	}
	for _, u := range s.Upstream {
		if _, err := os.Stat(u.Dir); err != nil {
			return missing("upstream output folder", u.Dir, err)
		}
	}
	if fi, err := os.Stat(s.Out); err != nil || !fi.IsDir() {
		if err == nil {
			err = fmt.Errorf("not a folder")
		}
		return missing("output folder", s.Out, err)
	}
	return nil
}

// NotShared is the error of a job that cannot see what (the job spec, the
// pipeline file, ...) at path: it names this machine and says what must
// be shared.
func NotShared(what, path string, err error) error {
	host, _ := os.Hostname()
	return fmt.Errorf("this machine (%s) cannot see the %s %s: %v. The pipeline folder and the cache folder must be on a file system that the build's machine and the cluster's nodes share, at the same path (see docs/executor.md)", host, what, path, err)
}
