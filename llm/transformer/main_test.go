package transformer

import (
	"testing"
	"time"

	"github.com/gomlx/compute"
	"github.com/refeval/refeval/internal/hangguard"
	"github.com/refeval/refeval/llm/backend"
	"github.com/refeval/refeval/llm/checkpoint"
)

// TestMain fails the package's tests loudly if the GoMLX backend hangs.
func TestMain(m *testing.M) { hangguard.Main(m, 3*time.Minute) }

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := backend.New("")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// eachCase runs f as one subtest per case, with the backend and the
// case's configuration.
func eachCase(t *testing.T, cases []goldenCase, f func(t *testing.T, b compute.Backend, tc goldenCase, cfg checkpoint.Config)) {
	b := testBackend(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { f(t, b, tc, tc.config()) })
	}
}
