package tokenizer

import (
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// TestConcurrentEncode encodes the golden strings from several goroutines at
// once on a fresh tokenizer, so that they fill and read the word cache
// together (run with -race to check the locking too).
func TestConcurrentEncode(t *testing.T) {
	tok, err := Load(realFiles["gpt2"])
	if err != nil {
		t.Fatal(err)
	}
	g := readGolden(t, filepath.Join("testdata", "gpt2.golden.json"))
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range g.Encodings {
				e := g.Encodings[(i+w*97)%len(g.Encodings)]
				for range 3 {
					if got := tok.Encode(e.Text); !slices.Equal(got, e.IDs) {
						errs <- e.Text
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for s := range errs {
		t.Errorf("wrong ids for %q under concurrent use", s)
	}
}

// TestWordCacheBounded fills the cache past its size and checks that no
// shard grows beyond its bound.
func TestWordCacheBounded(t *testing.T) {
	var c wordCache
	for i := range cacheShards * cacheShardSize * 2 {
		c.put(itoa(i), []int32{int32(i)})
	}
	for i := range c.shards {
		if n := len(c.shards[i].m); n > cacheShardSize {
			t.Errorf("shard %d holds %d pieces, more than %d", i, n, cacheShardSize)
		}
	}
	if ids, ok := c.get("123"); ok && (len(ids) != 1 || ids[0] != 123) {
		t.Errorf("wrong cached ids\ngot:  %#v\nwant: %#v", ids, []int32{123})
	}
}
