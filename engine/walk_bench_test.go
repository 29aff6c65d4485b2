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

// BenchmarkNoopBuild measures a build of 200 chained stages that are all
// cached: loading excluded, opening the cache excluded.
func BenchmarkNoopBuild(b *testing.B) {
	dir := b.TempDir()
	var src strings.Builder
	for i := 1; i <= 200; i++ {
		in := fmt.Sprintf("in%d.txt", i)
		if err := os.WriteFile(filepath.Join(dir, in), []byte(in), 0o644); err != nil {
			b.Fatal(err)
		}
		text := `"x"`
		if i%10 != 1 {
			text = fmt.Sprintf("stage.fake.s%d.out", i-1)
		}
		fmt.Fprintf(&src, "stage \"fake\" \"s%d\" {\n  text = %s\n  inputs = [%q]\n}\n", i, text, in)
	}
	file := filepath.Join(dir, "p.hcl")
	if err := os.WriteFile(file, []byte(src.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	p, diags := Load(file, LoadOptions{Lookup: fakeLookup})
	if diags.HasErrors() {
		b.Fatal(diags)
	}
	c, err := cache.Open(filepath.Join(dir, ".refeval"), cache.Options{NoWait: true})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	sel := []Selection{{Pipeline: p, Stages: p.Stages}}
	if err := Build(context.Background(), sel, BuildOptions{Cache: c}).Err(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		rep := Build(context.Background(), sel, BuildOptions{Cache: c})
		if n := rep.Counts()[StatusCached]; n != 200 {
			b.Fatalf("wrong cached count %d", n)
		}
	}
}
