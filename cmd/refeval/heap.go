package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
)

// Garbage collection for a short-lived command. refeval's heap is small
// (the pipeline and the cache index entries it reads; model weights live
// in backend buffers), and most runs are short: a plan or a no-op build of
// a few hundred stages allocates about 20 MB and exits. Collecting during
// such a run costs more than it saves: each collection is CPU, and the
// pages it frees are seldom reused before the exit. So no collection runs
// until the heap reaches startHeap; from the first collection on, refeval
// collects as with GOGC=400 (a short-lived process with a small heap).
// cmd/compile does the same (cmd/compile/internal/base/startheap.go,
// AdjustStartingHeap). At 200 stages, a plan without collections took
// fewer page faults and less CPU than with GOGC=400 from the start (perf
// stat, docs/engine.md). GOGC or GOMEMLIMIT in the environment win.
const (
	startHeap = 64 << 20
	gcPercent = 400
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
