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
		Condition: func(cond string) (bool, error) {
			if cond == "sandbox" {
				return stages.ReadOnlyMounts(), nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}
