package cache

import (
	"fmt"
	"path/filepath"
	"testing"
)

// BenchmarkOpen opens and closes a cache of REFEVAL_BENCH_ENTRIES-like
// sizes (100 and 2,000 entries), with the damage checks of Open
// (checkIndex reads every table; checkRecordSum lists entry/) and without
// them, in the same run:
//
//	go test -run '^$' -bench Open -benchtime 50x ./cache/
func BenchmarkOpen(b *testing.B) {
	for _, n := range []int{100, 2000} {
		dir := filepath.Join(b.TempDir(), "cache")
		c, err := Open(dir, Options{NoWait: true})
		must(b, err)
		tmp, err := c.NewOutputDir()
		must(b, err)
		writeFiles(b, tmp, map[string]string{"a": "1"})
		id, files, err := c.CommitOutput(tmp)
		must(b, err)
		for i := range n {
			name := fmt.Sprintf("s%d", i)
			must(b, c.Put(NewHash(name, nil).Sum(), &Entry{OutputID: id, Files: files, Pipeline: "p.hcl", Addr: "stage.x." + name}))
		}
		must(b, c.Close())
		for _, checked := range []bool{true, false} {
			b.Run(fmt.Sprintf("entries=%d/checked=%v", n, checked), func(b *testing.B) {
				checkOnOpen = checked
				defer func() { checkOnOpen = true }()
				for b.Loop() {
					c, err := Open(dir, Options{NoWait: true})
					must(b, err)
					must(b, c.Close())
				}
			})
		}
	}
}
