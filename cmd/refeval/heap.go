package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
)

// Garbage collection for a short-lived command. Most runs are short: a
// plan or a no-op build of a few hundred stages allocates about 20 MB and
// exits. Collecting during such a run costs more than it saves: each
// collection is CPU, and the pages it frees are seldom reused before the
// exit. So no collection runs until the heap reaches startHeap, as
// cmd/compile does (cmd/compile/internal/base/startheap.go,
// AdjustStartingHeap). From the first collection on, refeval collects by
// Go's default GOGC=100: a run that loads a model keeps its weights,
// optimizer state and activations on the Go heap (the pure-Go backend's
// buffers are Go slices), and a larger GOGC would let a training run's
// heap grow to several times its live size. At 200 stages, a plan without
// collections took fewer page faults and less CPU than with GOGC=400 from
// the start (perf stat, docs/engine.md). GOGC or GOMEMLIMIT in the
// environment win.
const (
	startHeap = 64 << 20
	gcPercent = 100
)

// tuneGC sets up collection as described above.
func tuneGC() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(startHeap)
	// The first collection (the limit starts it) finds the sentinel
	// unreachable and runs its cleanup, which restores collection by
	// GOGC. A 16-byte array is not a tiny allocation, which would share
	// its block with other objects and delay the cleanup.
	sentinel := new([16]byte)
	runtime.AddCleanup(sentinel, func(struct{}) {
		debug.SetGCPercent(gcPercent)
		debug.SetMemoryLimit(math.MaxInt64)
	}, struct{}{})
}
