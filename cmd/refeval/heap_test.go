package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

// gcSettings reads the GC percent and memory limit without changing them.
func gcSettings() (int, int64) {
	p := debug.SetGCPercent(-1)
	debug.SetGCPercent(p)
	return p, debug.SetMemoryLimit(-1)
}

// TestTuneGC checks that refeval starts with collection off up to
// startHeap and collects by GOGC=100 after the first collection, and that
// GOGC or GOMEMLIMIT in the environment leave the runtime's settings.
func TestTuneGC(t *testing.T) {
	tests := []struct {
		name         string
		env          map[string]string
		wantPercent  int // right after tuneGC
		wantLimit    int64
		afterPercent int // after a collection
		afterLimit   int64
	}{
		{"default", nil, -1, startHeap, gcPercent, math.MaxInt64},
		{"GOGC set", map[string]string{"GOGC": "150"}, 100, math.MaxInt64, 100, math.MaxInt64},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "1GiB"}, 100, math.MaxInt64, 100, math.MaxInt64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOGC", "")
			t.Setenv("GOMEMLIMIT", "")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			defer debug.SetGCPercent(100)
			defer debug.SetMemoryLimit(math.MaxInt64)
			tuneGC()
			if p, l := gcSettings(); p != tt.wantPercent || l != tt.wantLimit {
				t.Fatalf("wrong settings after tuneGC\ngot:  GOGC %d, limit %d\nwant: GOGC %d, limit %d", p, l, tt.wantPercent, tt.wantLimit)
			}
			// Cleanups run on their own goroutine after the collection.
			var p int
			var l int64
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
				runtime.GC()
				if p, l = gcSettings(); p == tt.afterPercent && l == tt.afterLimit {
					return
				}
			}
			t.Fatalf("wrong settings after a collection\ngot:  GOGC %d, limit %d\nwant: GOGC %d, limit %d", p, l, tt.afterPercent, tt.afterLimit)
		})
	}
}
