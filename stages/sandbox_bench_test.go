package stages

import (
	"os/exec"
	"testing"
	"time"
)

// BenchmarkReadOnlyStart measures what the read-only mount adds to starting
// an exec command: it runs `true` plainly and in a namespace with one
// read-only folder, alternately in the same run, and reports ns per run of
// each and their ratio.
func BenchmarkReadOnlyStart(b *testing.B) {
	if !ReadOnlyMounts() {
		b.Skip("no mount namespaces here")
	}
	ro := []string{b.TempDir()}
	run := func(ro []string) time.Duration {
		t0 := time.Now()
		cmd := exec.Command("true")
		if _, err := startReadOnly(cmd, ro); err != nil {
			b.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	var plain, sandboxed time.Duration
	for b.Loop() {
		plain += run(nil)
		sandboxed += run(ro)
	}
	b.ReportMetric(float64(plain.Nanoseconds())/float64(b.N), "ns/plain")
	b.ReportMetric(float64(sandboxed.Nanoseconds())/float64(b.N), "ns/readonly")
	b.ReportMetric(float64(sandboxed)/float64(plain), "readonly/plain")
}
