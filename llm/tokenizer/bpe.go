package tokenizer

import (
	"hash/maphash"
	"strings"
	"sync"
)

// A mergeRule is one line of merges: its rank (lower merges first) and the id
// of the token it makes.
type mergeRule struct {
	rank, id int32
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// bpeWord returns the ids of one pre-tokenized piece (raw bytes), appended to dst.
func (t *Tokenizer) bpeWord(dst []int, piece string) []int {
	if out, ok := t.knownWord(dst, piece, t.raw); ok {
		return out
	}
	var buf [64]int32
	syms := buf[:0]
	for i := 0; i < len(piece); i++ {
		if id := t.byteIDs[piece[i]]; id >= 0 {
			syms = append(syms, id)
		}
	}
	return t.mergeWord(dst, piece, syms)
}

// knownWord appends the ids of piece to dst without merging, when it can: the
// piece's own id when merges are ignored and vocab holds it, or the cached
// ids. It reports false when the caller must merge.
func (t *Tokenizer) knownWord(dst []int, piece string, vocab map[string]int32) ([]int, bool) {
	if t.ignoreMerges {
		if id, ok := vocab[piece]; ok {
			return append(dst, int(id)), true
		}
	}
	ids, ok := t.cache.get(piece)
	if !ok {
		return dst, false
	}
	for _, id := range ids {
		dst = append(dst, int(id))
	}
	return dst, true
}

// mergeWord applies the merges to the initial symbols of piece, caches the
// result under piece and appends it to dst.
func (t *Tokenizer) mergeWord(dst []int, piece string, syms []int32) []int {
	if len(syms) <= 48 {
		syms = t.mergeSmall(syms)
	} else {
		syms = t.mergeHeap(syms)
	}
	t.cache.put(piece, syms)
	for _, id := range syms {
		dst = append(dst, int(id))
	}
	return dst
}

// mergeSmall applies the merges to a short word: repeatedly the pair of lowest
// rank, leftmost among equals, which is the order of the Rust library's heap.
func (t *Tokenizer) mergeSmall(syms []int32) []int32 {
	for len(syms) > 1 {
		best, at := mergeRule{rank: -1}, -1
		for i := 0; i+1 < len(syms); i++ {
			if m, ok := t.merges[pairKey(syms[i], syms[i+1])]; ok && (at < 0 || m.rank < best.rank) {
				best, at = m, i
			}
		}
		if at < 0 {
			break
		}
		syms[at] = best.id
		syms = append(syms[:at+1], syms[at+2:]...)
	}
	return syms
}

// mergeHeap applies the merges to a long word in O(n log n) with a heap of
// candidate pairs over a linked list of symbols, as the Rust library does.
// The heap is typed (no container/heap boxing): SentencePiece-style files
// without a pre-tokenizer (Llama 2, Mistral) make a whole paragraph one word.
func (t *Tokenizer) mergeHeap(syms []int32) []int32 {
	n := len(syms)
	prev, next := make([]int, n), make([]int, n)
	for i := range syms {
		prev[i], next[i] = i-1, i+1
	}
	next[n-1] = -1
	h := make(pairHeap, 0, n)
	push := func(i int) {
		if i < 0 || next[i] < 0 {
			return
		}
		if m, ok := t.merges[pairKey(syms[i], syms[next[i]])]; ok {
			h.push(candidate{rank: m.rank, pos: i, id: m.id, left: syms[i], right: syms[next[i]]})
		}
	}
	for i := 0; i+1 < n; i++ {
		push(i)
	}
	for len(h) > 0 {
		c := h.pop()
		j := next[c.pos]
		if syms[c.pos] != c.left || j < 0 || syms[j] != c.right {
			continue // stale: a neighbour merged since
		}
		syms[c.pos] = c.id
		syms[j] = -1
		next[c.pos] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = c.pos
		}
		push(prev[c.pos])
		push(c.pos)
	}
	out := syms[:0]
	for i := 0; i >= 0; i = next[i] {
		out = append(out, syms[i])
	}
	return out
}

type candidate struct {
	rank        int32
	pos         int
	id          int32
	left, right int32
}

// pairHeap is a binary min-heap of candidates: lowest rank first, leftmost
// among equals.
type pairHeap []candidate

func (h pairHeap) less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}

func (h *pairHeap) push(c candidate) {
	*h = append(*h, c)
	a := *h
	for i := len(a) - 1; i > 0; {
		p := (i - 1) / 2
		if !a.less(i, p) {
			break
		}
		a[i], a[p] = a[p], a[i]
		i = p
	}
}

func (h *pairHeap) pop() candidate {
	a := *h
	top := a[0]
	last := len(a) - 1
	a[0] = a[last]
	a = a[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(a) && a.less(l, m) {
			m = l
		}
		if r < len(a) && a.less(r, m) {
			m = r
		}
		if m == i {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return top
}

// wordCache remembers the ids of recent pieces. It is sharded to keep lock
// contention low under concurrent Encode calls, and bounded: a full shard is
// emptied. Pieces longer than cacheMaxPiece are not cached (they rarely repeat).
type wordCache struct {
	seed   maphash.Seed
	once   sync.Once
	shards [cacheShards]cacheShard
}

const (
	cacheShards    = 32
	cacheShardSize = 2048 // 64k pieces in all: Rust's cache holds 10k
	cacheMaxPiece  = 128
)

type cacheShard struct {
	mu sync.RWMutex
	m  map[string][]int32
}

func (c *wordCache) shard(s string) *cacheShard {
	c.once.Do(func() { c.seed = maphash.MakeSeed() })
	return &c.shards[maphash.String(c.seed, s)%cacheShards]
}

func (c *wordCache) get(s string) ([]int32, bool) {
	if len(s) > cacheMaxPiece {
		return nil, false
	}
	sh := c.shard(s)
	sh.mu.RLock()
	ids, ok := sh.m[s]
	sh.mu.RUnlock()
	return ids, ok
}

func (c *wordCache) put(s string, ids []int32) {
	if len(s) > cacheMaxPiece {
		return
	}
	sh := c.shard(s)
	cp := append([]int32(nil), ids...)
	sh.mu.Lock()
	if sh.m == nil || len(sh.m) >= cacheShardSize {
		sh.m = make(map[string][]int32, cacheShardSize)
	}
	sh.m[strings.Clone(s)] = cp // s may point into a large text
	sh.mu.Unlock()
}
