package stages

import (
	"slices"
	"testing"

	"github.com/refeval/refeval/llm/backend"
)

// TestKindsDeclareBackendEnv checks that the GoMLX backend variable enters
// the ActionIDs it did before the engine stopped naming it: every kind
// that runs a model, and every kind's stages granted GPUs.
func TestKindsDeclareBackendEnv(t *testing.T) {
	models := []string{"sample", "score", "logprobs", "reference", "dpo", "sft", "eval"}
	for _, name := range Names() {
		k, _ := Lookup(name)
		if got, want := slices.Contains(k.Env, backend.EnvVar), slices.Contains(models, name); got != want {
			t.Errorf("kind %s: %s in Env is %v, want %v", name, backend.EnvVar, got, want)
		}
		if !slices.Contains(k.GPUEnv, backend.EnvVar) {
			t.Errorf("kind %s: %s missing from GPUEnv", name, backend.EnvVar)
		}
	}
}
