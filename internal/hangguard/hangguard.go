// Package hangguard makes a test binary fail loudly when its tests run far
// past their usual time. GoMLX's pure-Go backend in its parallel
// configuration can hang at 0% CPU (shared/GOMLX.md, docs/llm.md); a hang
// must print its goroutines and fail, not wait for go test's 10-minute
// default. Benchmarks are exempt.
package hangguard

import (
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"testing"
	"time"
)

// Main runs m like a TestMain, exiting with status 2 and a goroutine dump
// if the tests are still running after deadline.
func Main(m *testing.M, deadline time.Duration) {
	flag.Parse()
	var timer *time.Timer
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		timer = time.AfterFunc(deadline, func() {
			pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
			fmt.Fprintf(os.Stderr, "tests still running after %v: the GoMLX backend may be hung; goroutines above\n", deadline)
			os.Exit(2)
		})
	}
	code := m.Run()
	if timer != nil {
		timer.Stop()
	}
	os.Exit(code)
}
