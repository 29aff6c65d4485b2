package engine

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/refeval/refeval/cache"
)

// BenchmarkNoopBuild measures a build of 200 chained stages that are all
// cached: loading excluded, opening the cache excluded.
func BenchmarkNoopBuild(b *testing.B) { benchNoopBuild(b, chainPipeline(b, 200), 200) }

// BenchmarkNoopBuildWide measures builds of 1,000 and 5,000 independent stages that
// are all cached: every one is ready at once, so it times how the walk
// picks the next ready stage (ns/op per stage should not grow with the
// number ready).
func BenchmarkNoopBuildWide(b *testing.B) {
	for _, n := range []int{1000, 5000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchNoopBuild(b, chainsPipeline(b, n, 1), n) })
	}
}

func benchNoopBuild(b *testing.B, file string, stages int) {
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
		if n := rep.Counts()[StatusCached]; n != stages {
			b.Fatalf("wrong cached count %d", n)
		}
	}
}
