package main

import (
	"fmt"
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/refeval/refeval/stages"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"refeval": func() { os.Exit(run(os.Args[1:], os.Stderr)) },
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
		// [sandbox]: exec commands see upstream outputs read-only here.
		// [slurm]: the one-node cluster of scripts/services/slurm.sh is up.
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "sandbox":
				return stages.ReadOnlyMounts(), nil
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
