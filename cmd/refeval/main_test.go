package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/refeval/refeval/stages"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"refeval": func() { exiting = true; os.Exit(run(os.Args[1:], os.Stderr)) }, // as main
	})
}

// TestScript runs the CLI scripts in testdata/script.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(env *testscript.Env) error {
			env.Setenv("REFEVAL_CACHE", "")
			env.Setenv("REFEVAL_DEBUG", "")
			return nil
		},
		// [sandbox]: exec commands see upstream outputs read-only here:
		// refeval says so, or util-linux can make such a mount (so that
		// a broken sandbox fails seal_sandbox.txtar instead of skipping it).
		// [slurm]: the one-node cluster of scripts/services/slurm.sh is up.
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "sandbox":
				return stages.ReadOnlyMounts() || mountsAllowed(), nil
			case "slurm":
				return slurmUp()
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}

// slurmUp reports whether the one-node Slurm cluster of
// scripts/services/slurm.sh is up (REFEVAL_TEST_SLURM=1), for scripts
// that start with [!slurm] skip. Under CI a missing cluster is an error,
// not a skip.
func slurmUp() (bool, error) {
	if os.Getenv("REFEVAL_TEST_SLURM") == "1" {
		return true, nil
	}
	if os.Getenv("CI") == "true" {
		return false, fmt.Errorf("REFEVAL_TEST_SLURM is not set under CI: scripts/services/slurm.sh did not start Slurm")
	}
	return false, nil
}

// mountsAllowed reports whether util-linux's unshare and mount can make a
// private mount namespace with a read-only bind mount here (what the read-only
// sandbox of exec stages does), without refeval's own code.
func mountsAllowed() bool {
	if runtime.GOOS != "linux" {
		return false
	}
	dir, err := os.MkdirTemp("", "refeval-mount-probe-")
	if err != nil {
		return false
	}
	defer os.Remove(dir)
	cmd := exec.Command("unshare", "--mount", "--propagation", "private", "sh", "-c",
		`mount --bind "$1" "$1" && mount -o remount,bind,ro "$1"`, "sh", dir)
	return cmd.Run() == nil
}
