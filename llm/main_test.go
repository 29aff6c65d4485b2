package llm

import (
	"testing"
	"time"

	"github.com/refeval/refeval/internal/hangguard"
)

// TestMain fails the package's tests loudly if the GoMLX backend hangs.
func TestMain(m *testing.M) { hangguard.Main(m, 3*time.Minute) }
