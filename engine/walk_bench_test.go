package engine

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/refeval/refeval/cache"
)

// BenchmarkNoopBuild measures a build of 200 chained stages that are all
// cached: loading excluded, opening the cache excluded.
func BenchmarkNoopBuild(b *testing.B) {
	file := chainPipeline(b, 200)
	dir := filepath.Dir(file)
	p, diags := Load(file, LoadOptions{Blocks: fakeBlocks, Lookup: fakeLookup})
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
