package engine

import (
	"fmt"
	"testing"

	"github.com/refeval/refeval/cache"
)

// TestKindEnv checks that the variables a kind declares, and only those,
// enter its ActionIDs: Env always, GPUEnv for stages granted GPUs.
func TestKindEnv(t *testing.T) {
	const v = "REFEVAL_TEST_ENV"
	tests := []struct {
		name        string
		env, gpuEnv []string
		gpus        int
		changes     bool
	}{
		{"declared", []string{v}, nil, 0, true},
		{"not declared", nil, []string{v}, 0, false},
		{"gpu stage", nil, []string{v}, 1, true},
		{"both", []string{v}, []string{v}, 1, true},
		{"another variable", []string{"REFEVAL_TEST_OTHER"}, nil, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := (&probe{held: map[int]string{}}).kind()
			k.Env, k.GPUEnv = tt.env, tt.gpuEnv
			src := fmt.Sprintf("stage \"probe\" \"s\" {\n  text = \"x\"\n  gpus = %d\n}\n", tt.gpus)
			pl, c := loadWith(t, src, func(name string) (*Kind, bool) { return k, name == "probe" })
			id := func(val string) cache.ID {
				t.Setenv(v, val)
				a, err := pl.computeAction(c, pl.Stages[0], nil, nil)
				if err != nil {
					t.Fatal(err)
				}
				return a.id
			}
			if changed := id("a") != id("b"); changed != tt.changes {
				t.Errorf("ActionID changed with $%s: %v, want %v", v, changed, tt.changes)
			}
		})
	}
}
