package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refeval/refeval/cache"
)

// chainPipeline writes a pipeline of n fake stages in chains of 10, each
// with one input file, and returns its path.
func chainPipeline(tb testing.TB, n int) string { return chainsPipeline(tb, n, 10) }

// chainsPipeline writes n fake stages in chains of length stages each (1:
// n independent stages).
func chainsPipeline(tb testing.TB, n, length int) string {
	dir := tb.TempDir()
	var src strings.Builder
	for i := 1; i <= n; i++ {
		in := fmt.Sprintf("in%d.txt", i)
		if err := os.WriteFile(filepath.Join(dir, in), []byte(in), 0o644); err != nil {
			tb.Fatal(err)
		}
		text := `"x"`
		if length > 1 && i%length != 1 {
			text = fmt.Sprintf("stage.fake.s%d.out", i-1)
		}
		fmt.Fprintf(&src, "stage \"fake\" \"s%d\" {\n  text = %s\n  inputs = [%q]\n}\n", i, text, in)
	}
	file := filepath.Join(dir, "p.hcl")
	if err := os.WriteFile(file, []byte(src.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return file
}

// BenchmarkLoadPlan measures loading and planning n chained stages that
// are all cached (the work of `refeval plan` after process start and
// cache open); ns/op divided by n should not grow with n.
func BenchmarkLoadPlan(b *testing.B) {
	for _, n := range []int{200, 2000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			file := chainPipeline(b, n)
			p, diags := Load(file, LoadOptions{Blocks: fakeBlocks, Lookup: fakeLookup})
			if diags.HasErrors() {
				b.Fatal(diags)
			}
			c, err := cache.Open(filepath.Join(filepath.Dir(file), ".refeval"), cache.Options{NoWait: true})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			if err := Build(context.Background(), []Selection{{Pipeline: p, Stages: p.Stages}}, BuildOptions{Cache: c, Jobs: 2}).Err(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				p, diags := Load(file, LoadOptions{Blocks: fakeBlocks, Lookup: fakeLookup})
				if diags.HasErrors() {
					b.Fatal(diags)
				}
				items, err := Plan(context.Background(), p, p.Stages, c, nil)
				if err != nil {
					b.Fatal(err)
				}
				if items[n-1].Action != "cached" {
					b.Fatalf("wrong action %q for %s", items[n-1].Action, items[n-1].Stage)
				}
			}
		})
	}
}
