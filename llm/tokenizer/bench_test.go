package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
)

// BenchmarkEncode measures encode throughput (bytes of text per second of
// wall time, and per second of process CPU time as cpu-MB/s) on
// the documents of $REFEVAL_TOKENIZER_BENCH_TEXT (JSON Lines, one string per
// line), or the golden strings when unset, with $REFEVAL_TOKENIZER_BENCH_FILE
// (default Qwen2.5). bench/tokenizer/run.sh runs it next to the Rust library.
func BenchmarkEncode(b *testing.B) {
	path := os.Getenv("REFEVAL_TOKENIZER_BENCH_FILE")
	if path == "" {
		path = realFiles["qwen2_5"]
	}
	tok, err := Load(path)
	if err != nil {
		b.Fatal(err)
	}
	var docs []string
	if text := os.Getenv("REFEVAL_TOKENIZER_BENCH_TEXT"); text != "" {
		f, err := os.Open(text)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<26)
		for sc.Scan() {
			var s string
			if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
				b.Fatalf("%s: %v", text, err)
			}
			docs = append(docs, s)
		}
		if err := sc.Err(); err != nil {
			b.Fatal(err)
		}
	} else {
		for _, e := range readGolden(b, "testdata/qwen2_5.golden.json").Encodings {
			docs = append(docs, e.Text)
		}
	}
	size, ntok := 0, 0
	for _, d := range docs {
		size += len(d)
		ntok += len(tok.Encode(d)) // also warms the word cache, as a long run would
	}
	b.SetBytes(int64(size))
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		for _, d := range docs {
			tok.Encode(d)
		}
	}
	cpu := cpuTime() - cpu0
	// Metrics after ResetTimer, which clears them. CPU time is steadier than
	// wall time on a loaded machine; it counts the GC's threads too.
	b.ReportMetric(float64(ntok), "tokens")
	if cpu > 0 {
		b.ReportMetric(float64(size)*float64(b.N)/1e6/cpu.Seconds(), "cpu-MB/s")
	}
}

// BenchmarkLoad measures reading the gzip-compressed Qwen2.5 file.
func BenchmarkLoad(b *testing.B) {
	for range b.N {
		if _, err := Load(realFiles["qwen2_5"]); err != nil {
			b.Fatal(err)
		}
	}
}
