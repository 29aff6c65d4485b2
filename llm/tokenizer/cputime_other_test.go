//go:build !unix

package tokenizer

import "time"

// cpuTime is not measured on this system; BenchmarkEncode then omits cpu-MB/s.
func cpuTime() time.Duration { return 0 }
