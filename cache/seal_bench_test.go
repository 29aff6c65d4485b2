package cache

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkCheckSealed measures the check the engine runs on every
// upstream output after each stage, on an output of 1,000 small files in
// 10 folders, against rehashing the same output (VerifyOutput, what the
// check avoids) in the same run. It reports ns per check of each and
// their ratio.
func BenchmarkCheckSealed(b *testing.B) {
	c := openTest(b)
	files := map[string]string{}
	for i := range 1000 {
		files[fmt.Sprintf("d%d/f%04d.txt", i%10, i)] = fmt.Sprintf("file %d %s\n", i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
	}
	id, manifest := commit(b, c, files)
	var sealed, rehash time.Duration
	for b.Loop() {
		t0 := time.Now()
		if err := c.CheckSealed(id, manifest); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := c.VerifyOutput(id, manifest); err != nil {
			b.Fatal(err)
		}
		sealed, rehash = sealed+t1.Sub(t0), rehash+time.Since(t1)
	}
	b.ReportMetric(float64(sealed.Nanoseconds())/float64(b.N), "ns/check")
	b.ReportMetric(float64(rehash.Nanoseconds())/float64(b.N), "ns/rehash")
	b.ReportMetric(float64(sealed)/float64(rehash), "check/rehash")
}
