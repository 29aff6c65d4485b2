package stages

import (
	"slices"
	"sort"
	"sync"

	"github.com/hashicorp/hcl/v2"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/llm/backend"
)

// backendEnv is the Env of the kinds that compute with GoMLX: the backend
// variable changes their numbers.
var backendEnv = []string{backend.EnvVar}

var (
	mu    sync.Mutex
	kinds = map[string]*engine.Kind{}
)

// Register makes a stage kind available under k.Name. It is called from the
// init function of the file that implements the kind, and panics on a
// duplicate name.
func Register(k *engine.Kind) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := kinds[k.Name]; dup {
		panic("stages: duplicate stage kind " + k.Name)
	}
	if k.GPUEnv == nil {
		k.GPUEnv = backendEnv // a stage given GPUs may run any GoMLX code on them
	}
	if k.CheckInputs == nil && hasAttribute(k.Schema, checkedInputs...) {
		k.CheckInputs = checkInputFiles
	}
	kinds[k.Name] = k
}

// Lookup returns the kind registered under name.
func Lookup(name string) (*engine.Kind, bool) {
	mu.Lock()
	defer mu.Unlock()
	k, ok := kinds[name]
	return k, ok
}

// Names returns the registered kind names, sorted.
func Names() []string {
	mu.Lock()
	defer mu.Unlock()
	names := make([]string, 0, len(kinds))
	for n := range kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// hasAttribute says whether schema declares any of names.
func hasAttribute(schema *hcl.BodySchema, names ...string) bool {
	if schema == nil {
		return false
	}
	for _, a := range schema.Attributes {
		if slices.Contains(names, a.Name) {
			return true
		}
	}
	return false
}
