package cache

import (
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/zeebo/blake3"
)

// benchSize is the size of the file BenchmarkDigestFirstTime hashes:
// REFEVAL_BENCH_MB megabytes, 256 by default.
func benchSize(b *testing.B) int64 {
	mb := 256
	if s := os.Getenv("REFEVAL_BENCH_MB"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("REFEVAL_BENCH_MB=%q: want a positive number of megabytes", s)
		}
		mb = v
	}
	return int64(mb) << 20
}

// writeBenchFile writes size bytes of non-repeating data (real blocks, not
// a sparse file), which stay in the page cache: the benchmark measures
// hashing, not the disk.
func writeBenchFile(b *testing.B, size int64) string {
	p := filepath.Join(b.TempDir(), "big.bin")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, segmentSize)
	for off := int64(0); off < size; off += int64(len(buf)) {
		for i := 0; i < len(buf); i += 8 {
			v := uint64(off+int64(i)) * 0x9E3779B97F4A7C15
			for j := range 8 {
				buf[i+j] = byte(v >> (8 * j))
			}
		}
		if _, err := f.Write(buf[:min(int64(len(buf)), size-off)]); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return p
}

// BenchmarkDigestFirstTime measures DigestPath on a file it has never seen
// (what a stat-cache miss costs) against SHA-256 (crypto/sha256, which uses
// SHA-NI where the CPU has it), single-stream BLAKE3, and the sha256sum
// command when it is installed, all on the same file in the same run. It
// reports each one's MB/s and the ratio of DigestPath's speed to theirs.
//
//	go test -run '^$' -bench DigestFirstTime ./cache/   (REFEVAL_BENCH_MB=1024 for a bigger file)
func BenchmarkDigestFirstTime(b *testing.B) {
	size := benchSize(b)
	p := writeBenchFile(b, size)
	baselines := map[string]func() error{
		"sha256": func() error { return streamHash(p, sha256.New()) },
		"blake3-1core": func() error {
			return streamHash(p, blake3.New())
		},
	}
	if path, err := exec.LookPath("sha256sum"); err == nil {
		baselines["sha256sum"] = func() error { return exec.Command(path, p).Run() }
	}
	spent := map[string]time.Duration{}
	var ours time.Duration
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		if _, _, err := hashFile(p); err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		b.StopTimer()
		for name, run := range baselines {
			start := time.Now()
			if err := run(); err != nil {
				b.Fatal(name, err)
			}
			spent[name] += time.Since(start)
		}
		b.StartTimer()
	}
	mbps := func(d time.Duration) float64 { return float64(size) * float64(b.N) / 1e6 / d.Seconds() }
	b.ReportMetric(mbps(ours), "refeval-MB/s")
	for name, d := range spent {
		b.ReportMetric(mbps(d), name+"-MB/s")
		b.ReportMetric(d.Seconds()/ours.Seconds(), "x-vs-"+name)
	}
}

func streamHash(p string, h io.Writer) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.CopyBuffer(h, f, make([]byte, segmentSize))
	return err
}

// BenchmarkDigestNoOp measures DigestPath on an unchanged 2 GB file whose
// digest is in the stat cache: what every input costs in a no-op build. The
// file is sparse, so it takes no disk space; the first (uncached) hash is
// reported too, as first-ms, with the ratio.
//
//	go test -run '^$' -bench DigestNoOp ./cache/
func BenchmarkDigestNoOp(b *testing.B) {
	c := openTest(b)
	settledClock(c)
	p := filepath.Join(b.TempDir(), "weights.safetensors")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	if err := f.Truncate(2 << 30); err != nil {
		b.Fatal(err)
	}
	f.Close()
	start := time.Now()
	want, err := c.DigestPath(p)
	if err != nil {
		b.Fatal(err)
	}
	first := time.Since(start)
	var reads int
	readHook = func(string) { reads++ }
	defer func() { readHook = nil }()
	b.ResetTimer()
	for b.Loop() {
		got, err := c.DigestPath(p)
		if err != nil || got != want {
			b.Fatalf("wrong digest: %s, %v", got, err)
		}
	}
	b.StopTimer()
	if reads != 0 {
		b.Fatalf("the stat cache missed: %d rereads of an unchanged file", reads)
	}
	per := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(first.Milliseconds()), "first-ms")
	b.ReportMetric(first.Seconds()/per.Seconds(), "x-faster-than-first")
}
