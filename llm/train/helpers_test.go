package train

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/refeval/refeval/llm/backend"
)

var (
	backendOnce sync.Once
	backendVal  compute.Backend
	backendErr  error
)

// testBackend returns the backend GOMLX_BACKEND names, by default the
// pure-Go one in the configuration that does not hang (llm/backend).
func testBackend(t *testing.T) compute.Backend {
	t.Helper()
	backendOnce.Do(func() { backendVal, backendErr = backend.New("") })
	if backendErr != nil {
		t.Fatalf("creating backend: %v", backendErr)
	}
	return backendVal
}

// bigramLM is the stand-in language model of these tests: logits of the
// next token depend only on the current one, through an embedding
// [vocab, dim] and an output projection [vocab, dim] (Hugging Face layout).
func bigramLM(vocab, dim int, seed uint64, b compute.Backend) (*Model, error) {
	store := model.NewStore()
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, name := range []string{"/embed", "/lm_head"} {
		data := make([]float32, vocab*dim)
		for i := range data {
			data[i] = float32(rng.NormFloat64() * 0.5)
		}
		if _, err := store.CreateVariable(name, tensors.FromFlatDataAndDimensions(data, vocab, dim)); err != nil {
			return nil, err
		}
	}
	logits := func(scope *model.Scope, tokens, _ *Node) *Node {
		g := tokens.Graph()
		embed := store.GetVariable("/embed").NodeValue(g)
		head := store.GetVariable("/lm_head").NodeValue(g)
		h := Gather(embed, ExpandAxes(tokens, -1)) // [batch, seq, dim]
		return Einsum("bsd,vd->bsv", h, head)
	}
	return &Model{Backend: b, Store: store, Logits: logits}, nil
}

// weights returns a copy of the model's variables by path.
func weights(t *testing.T, m *Model) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	for v := range m.Store.IterVariables() {
		out[v.Path()] = tensors.MustCopyFlatData[float32](v.MustValue())
	}
	return out
}

func maxAbsDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
	}
	return d
}
