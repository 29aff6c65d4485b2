package tokenizer

import (
	"bytes"
	"container/heap"
	"encoding/json"
	"fmt"
	"sort"
)

// ChatMLSpecialTokens are the special tokens Train adds by default: GPT-2's
// end of text and the ChatML turn markers the chat templates use.
var ChatMLSpecialTokens = []string{"<|endoftext|>", "<|im_start|>", "<|im_end|>"}

// TrainOptions configures Train.
type TrainOptions struct {
	VocabSize     int      // ids in all: 256 bytes, the merges, the special tokens
	SpecialTokens []string // added as special tokens after the merges; nil: ChatMLSpecialTokens
	MinFrequency  int      // a pair seen fewer times is never merged; 0 means 2
}

// Train learns a byte-level BPE vocabulary from texts and returns it as a
// tokenizer.json that both Parse and the Rust tokenizers library load: no
// normalizer, the GPT-2 pre-tokenizer (ByteLevel with its regex), BPE with
// merges in "a b" form, the special tokens as added tokens, the ByteLevel
// decoder. Special-token text inside texts separates words and is not learned.
//
// Ids 0–255 are the bytes in byte order; each merge adds the next id. At each
// step the most frequent adjacent pair is merged; ties go to the pair whose
// (left id, right id) is smallest, so the result depends only on the texts and
// options, never on map order.
func Train(texts []string, opt TrainOptions) ([]byte, error) {
	specials := opt.SpecialTokens
	if specials == nil {
		specials = ChatMLSpecialTokens
	}
	minFreq := int64(opt.MinFrequency)
	if minFreq <= 0 {
		minFreq = 2
	}
	if opt.VocabSize < 256+len(specials) {
		return nil, fmt.Errorf("vocabulary size %d is too small: it needs 256 byte tokens and %d special tokens", opt.VocabSize, len(specials))
	}
	var sp []addedToken
	for i, s := range specials {
		if s == "" {
			return nil, fmt.Errorf("special token %d is empty", i)
		}
		sp = append(sp, addedToken{content: s, id: i})
	}

	// Count the pre-tokenized pieces.
	counts := map[string]int64{}
	matcher := newAddedMatcher(sp)
	for _, text := range texts {
		matcher.split(text, func(seg string) {
			scanGPT2(seg, func(piece string) { counts[piece]++ })
		}, func(int) {})
	}
	pieces := make([]string, 0, len(counts))
	for p := range counts {
		pieces = append(pieces, p)
	}
	sort.Strings(pieces)
	tr := &trainer{
		pairs: map[uint64]int64{},
		where: map[uint64][]int32{},
		ids:   map[string]int32{},
	}
	for b := range 256 {
		tr.tokens = append(tr.tokens, string([]byte{byte(b)}))
		tr.ids[tr.tokens[b]] = int32(b)
	}
	for i, p := range pieces {
		w := trainWord{freq: counts[p], syms: make([]int32, len(p))}
		for k := 0; k < len(p); k++ {
			w.syms[k] = int32(p[k])
		}
		tr.words = append(tr.words, w)
		tr.addPairs(int32(i), +1)
	}
	for k, c := range tr.pairs {
		heap.Push(&tr.heap, pairCount{key: k, count: c})
	}
	seen := make([]int, len(tr.words))
	for step := 1; len(tr.tokens)+len(specials) < opt.VocabSize && tr.heap.Len() > 0; step++ {
		top := heap.Pop(&tr.heap).(pairCount)
		if tr.pairs[top.key] != top.count {
			continue // stale
		}
		if top.count < minFreq {
			break
		}
		a, b := int32(top.key>>32), int32(uint32(top.key))
		merged := tr.tokens[a] + tr.tokens[b]
		id, ok := tr.ids[merged]
		if !ok {
			id = int32(len(tr.tokens))
			tr.tokens = append(tr.tokens, merged)
			tr.ids[merged] = id
		}
		tr.merges = append(tr.merges, [2]int32{a, b})
		touched := map[uint64]bool{}
		for _, wi := range tr.where[top.key] {
			if seen[wi] == step {
				continue
			}
			seen[wi] = step
			tr.mergeWord(wi, a, b, id, touched)
		}
		delete(tr.where, top.key)
		for k := range touched {
			if c := tr.pairs[k]; c > 0 {
				heap.Push(&tr.heap, pairCount{key: k, count: c})
			}
		}
	}
	return tr.file(specials)
}

type trainWord struct {
	syms []int32
	freq int64
}

type trainer struct {
	words  []trainWord
	tokens []string // id → raw bytes
	ids    map[string]int32
	merges [][2]int32
	pairs  map[uint64]int64   // pair → count over all words
	where  map[uint64][]int32 // pair → words that had it (may repeat or be stale)
	heap   pairCountHeap
}

// addPairs adds (sign +1) or removes (-1) word wi's pairs from the counts.
func (tr *trainer) addPairs(wi int32, sign int64) {
	w := &tr.words[wi]
	for k := 0; k+1 < len(w.syms); k++ {
		key := pairKey(w.syms[k], w.syms[k+1])
		tr.pairs[key] += sign * w.freq
		if sign > 0 {
			tr.where[key] = append(tr.where[key], wi)
		} else if tr.pairs[key] == 0 {
			delete(tr.pairs, key)
		}
	}
}

// mergeWord replaces each (a, b) in word wi, left to right, by id.
func (tr *trainer) mergeWord(wi int32, a, b, id int32, touched map[uint64]bool) {
	w := &tr.words[wi]
	found := false
	for k := 0; k+1 < len(w.syms); k++ {
		if w.syms[k] == a && w.syms[k+1] == b {
			found = true
			break
		}
	}
	if !found {
		return
	}
	for k := 0; k+1 < len(w.syms); k++ {
		touched[pairKey(w.syms[k], w.syms[k+1])] = true
	}
	tr.addPairs(wi, -1)
	out := w.syms[:0]
	for k := 0; k < len(w.syms); k++ {
		if k+1 < len(w.syms) && w.syms[k] == a && w.syms[k+1] == b {
			out = append(out, id)
			k++
			continue
		}
		out = append(out, w.syms[k])
	}
	w.syms = out
	tr.addPairs(wi, +1)
	for k := 0; k+1 < len(w.syms); k++ {
		touched[pairKey(w.syms[k], w.syms[k+1])] = true
	}
}

// file writes the trained vocabulary as tokenizer.json.
func (tr *trainer) file(specials []string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	str := func(s string) {
		enc.Encode(s)               // a string always encodes
		buf.Truncate(buf.Len() - 1) // the newline Encode adds
	}
	buf.WriteString("{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": [")
	for i, s := range specials {
		if i > 0 {
			buf.WriteString(",")
		}
		fmt.Fprintf(&buf, "\n    {\"id\": %d, \"content\": ", len(tr.tokens)+i)
		str(s)
		buf.WriteString(", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}")
	}
	buf.WriteString("\n  ],\n  \"normalizer\": null,\n" +
		"  \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true},\n" +
		"  \"post_processor\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": false, \"use_regex\": true},\n" +
		"  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true},\n" +
		"  \"model\": {\n    \"type\": \"BPE\", \"dropout\": null, \"unk_token\": null, \"continuing_subword_prefix\": null, \"end_of_word_suffix\": null,\n" +
		"    \"fuse_unk\": false, \"byte_fallback\": false, \"ignore_merges\": false,\n    \"vocab\": {")
	for id, raw := range tr.tokens {
		if id > 0 {
			buf.WriteString(",")
		}
		buf.WriteString("\n      ")
		str(byteLevel(raw))
		fmt.Fprintf(&buf, ": %d", id)
	}
	buf.WriteString("\n    },\n    \"merges\": [")
	for i, m := range tr.merges {
		if i > 0 {
			buf.WriteString(",")
		}
		buf.WriteString("\n      ")
		str(byteLevel(tr.tokens[m[0]]) + " " + byteLevel(tr.tokens[m[1]]))
	}
	buf.WriteString("\n    ]\n  }\n}\n")
	return buf.Bytes(), nil
}

// pairCount is a heap entry: a pair and its count when pushed.
type pairCount struct {
	key   uint64
	count int64
}

// pairCountHeap pops the highest count first, then the smallest pair key
// (left id, then right id).
type pairCountHeap []pairCount

func (h pairCountHeap) Len() int { return len(h) }
func (h pairCountHeap) Less(i, j int) bool {
	if h[i].count != h[j].count {
		return h[i].count > h[j].count
	}
	return h[i].key < h[j].key
}
func (h pairCountHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *pairCountHeap) Push(x any)   { *h = append(*h, x.(pairCount)) }
func (h *pairCountHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
