package stages

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkEndpointThroughput runs a sample and a score stage against a
// fake endpoint that answers every request after a fixed latency, and
// reports requests/s against the bound max_concurrency / latency as
// "ratio" (issue 13's goal: ≥ 0.9). Each iteration is a fresh pipeline
// folder and server, so no memo answers a request.
func BenchmarkEndpointThroughput(b *testing.B) {
	const (
		prompts     = 96
		concurrency = 8
		latency     = 50 * time.Millisecond
	)
	bound := float64(concurrency) / latency.Seconds()
	stages := []struct {
		name string
		run  func(d *demo, url string)
	}{
		{"sample", func(d *demo, url string) {
			d.run("sample", "sample", fmt.Sprintf(`model = { endpoint = "%s/v1", name = "policy", max_concurrency = %d }
prompts = "train.prompts.jsonl"`, url, concurrency))
		}},
		{"score", func(d *demo, url string) {
			d.run("score", "score", fmt.Sprintf(`judge = { endpoint = "%s/v1", name = "judge", max_concurrency = %d }
samples = "smp"
references = "train.references.jsonl"
template = "judge.txt"`, url, concurrency))
		}},
	}
	for _, st := range stages {
		b.Run(st.name, func(b *testing.B) {
			requests := 0
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				d := newDemo(b, prompts)
				writeEndpointSamples(b, d, prompts)
				srv := newRecordingServer(b, latency)
				start := time.Now()
				st.run(d, srv.URL)
				elapsed += time.Since(start)
				requests += len(srv.take())
			}
			rate := float64(requests) / elapsed.Seconds()
			b.ReportMetric(rate, "requests/s")
			b.ReportMetric(rate/bound, "ratio")
			b.Logf("%s: %d requests, %.1f requests/s; bound max_concurrency/latency = %d/%v = %.0f/s; ratio %.2f",
				st.name, requests, rate, concurrency, latency, bound, rate/bound)
		})
	}
}

// writeEndpointSamples writes smp/samples.jsonl with n prompts of two
// candidates each (two judge requests per prompt, one per order).
func writeEndpointSamples(b testing.TB, d *demo, n int) {
	var samples []Sample
	for i := 0; i < n; i++ {
		samples = append(samples, Sample{Prompt: fmt.Sprintf("p%d", i), Candidates: []TextLine{{Text: "x"}, {Text: "y"}}})
	}
	if err := os.MkdirAll(filepath.Join(d.dir, "smp"), 0o777); err != nil {
		b.Fatal(err)
	}
	if err := WriteJSONL(filepath.Join(d.dir, "smp", SamplesFile), samples); err != nil {
		b.Fatal(err)
	}
}
