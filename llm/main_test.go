package llm

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"testing"
	"time"
)

// testDeadline fails the package's tests loudly when they run far past
// their usual few seconds: the pure-Go backend's parallel configuration can
// hang at 0 % CPU (docs/llm.md), and a hang must not wait for go test's
// 10-minute default. Benchmarks are exempt.
const testDeadline = 3 * time.Minute

func TestMain(m *testing.M) {
	flag.Parse()
	var timer *time.Timer
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		timer = time.AfterFunc(testDeadline, func() {
			pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
			fmt.Fprintf(os.Stderr, "tests still running after %v: the GoMLX backend may be hung; goroutines above\n", testDeadline)
			os.Exit(2)
		})
	}
	code := m.Run()
	if timer != nil {
		timer.Stop()
	}
	os.Exit(code)
}
