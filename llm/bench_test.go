package llm

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/refeval/refeval/llm/checkpoint"
)

// Speed of the model on the configured backend (pure Go by default), with
// Qwen2.5's real vocabulary size. Run with GOEXPERIMENT=simd:
//
//	go test -run XXX -bench . -benchtime 3x ./llm
//
// and record the numbers in docs/llm.md.
func benchModel(b *testing.B, size string, maxBatch int) *Model {
	cfg, err := checkpoint.SizedConfig("qwen2", size, 151665)
	if err != nil {
		b.Fatal(err)
	}
	cfg.EOSTokenIDs = []int{-1} // Never stop early.
	m, err := New(cfg, checkpoint.Random(cfg, 1), Options{MaxBatch: maxBatch})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	b.Logf("%s: %d parameters", size, checkpoint.NumParams(cfg))
	return m
}

func BenchmarkPrefill(b *testing.B) {
	for _, size := range []string{"tiny", "small"} {
		for _, bt := range []struct{ batch, length int }{{1, 128}, {8, 128}} {
			b.Run(size+"/"+itoa(bt.batch)+"x"+itoa(bt.length), func(b *testing.B) {
				m := benchModel(b, size, bt.batch)
				prefixes := make([][]int, bt.batch)
				for i := range prefixes {
					prefixes[i] = prompt(uint64(i), bt.length)
				}
				ctx := context.Background()
				if _, err := m.NextTokenLogProbs(ctx, prefixes); err != nil { // compile
					b.Fatal(err)
				}
				b.ResetTimer()
				cpu := cpuTime()
				for i := 0; i < b.N; i++ {
					if _, err := m.NextTokenLogProbs(ctx, prefixes); err != nil {
						b.Fatal(err)
					}
				}
				cpu = cpuTime() - cpu
				b.ReportMetric(float64(bt.batch*bt.length*b.N)/b.Elapsed().Seconds(), "tokens/s")
				b.ReportMetric(float64(bt.batch*bt.length*b.N)/cpu.Seconds(), "tokens/cpu-s")
			})
		}
	}
}

// BenchmarkScore measures SequenceLogProbs (the logprobs stage): 8
// sequences of 128 tokens, half prompt.
func BenchmarkScore(b *testing.B) {
	for _, size := range []string{"tiny", "small"} {
		b.Run(size+"/8x128", func(b *testing.B) {
			m := benchModel(b, size, 8)
			seqs := make([]Sequence, 8)
			for i := range seqs {
				seqs[i] = Sequence{Tokens: prompt(uint64(i), 128), PromptLen: 64}
			}
			ctx := context.Background()
			if _, err := m.SequenceLogProbs(ctx, seqs); err != nil { // compile
				b.Fatal(err)
			}
			b.ResetTimer()
			cpu := cpuTime()
			for i := 0; i < b.N; i++ {
				if _, err := m.SequenceLogProbs(ctx, seqs); err != nil {
					b.Fatal(err)
				}
			}
			cpu = cpuTime() - cpu
			b.ReportMetric(float64(8*128*b.N)/b.Elapsed().Seconds(), "tokens/s")
			b.ReportMetric(float64(8*128*b.N)/cpu.Seconds(), "tokens/cpu-s")
		})
	}
}

// BenchmarkDecode measures decode steps: a generation of 33 tokens minus
// one of 1 token (the prefill), per generated token and row.
func BenchmarkDecode(b *testing.B) {
	for _, size := range []string{"tiny", "small"} {
		for _, batch := range []int{1, 8} {
			b.Run(size+"/batch"+itoa(batch), func(b *testing.B) {
				m := benchModel(b, size, batch)
				reqs := make([]GenRequest, batch)
				for i := range reqs {
					reqs[i] = GenRequest{Prompt: prompt(uint64(i), 16), Item: itoa(i)}
				}
				ctx := context.Background()
				var cpu time.Duration
				run := func(n int) time.Duration {
					start, c := time.Now(), cpuTime()
					if _, err := m.Generate(ctx, reqs, SampleParams{MaxTokens: n, Greedy: true}); err != nil {
						b.Fatal(err)
					}
					cpu = cpuTime() - c
					return time.Since(start)
				}
				run(33) // compile
				run(1)
				var steps, cpuSteps time.Duration
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					steps += run(33)
					c := cpu
					steps -= run(1)
					cpuSteps += c - cpu
				}
				b.ReportMetric(float64(32*batch*b.N)/steps.Seconds(), "tokens/s")
				b.ReportMetric(float64(32*batch*b.N)/cpuSteps.Seconds(), "tokens/cpu-s")
				b.ReportMetric(steps.Seconds()*1000/float64(32*b.N), "ms/step")
			})
		}
	}
}

// cpuTime returns the CPU time (user + system) the process has used. On a
// shared machine, work per CPU-second is steadier than per wall-second.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
