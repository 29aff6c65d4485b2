package tokenizer

import (
	"fmt"
	"unicode/utf8"
)

// Character-level BPE, as tokenizer.json describes SentencePiece-converted
// vocabularies (Llama 2, Mistral, Gemma): the model's symbols are characters,
// a character missing from the vocabulary becomes its bytes' <0xNN> tokens
// (byte_fallback) or the unknown token, and the merges apply by rank as in
// byte-level BPE.

// charModel holds what character-level BPE needs besides the merges.
type charModel struct {
	vocab        map[string]int32 // the model's vocabulary only (no added tokens)
	byteFallback bool
	byteIDs      [256]int32 // id of "<0xNN>", -1 if missing
	unk          int32      // id of unk_token, -1 if none
	fuseUnk      bool
	steps        []preStep
}

func newCharModel(m *modelJSON, steps []preStep) (*charModel, error) {
	c := &charModel{vocab: make(map[string]int32, len(m.Vocab)), byteFallback: m.ByteFallback, unk: -1, fuseUnk: m.FuseUnk, steps: steps}
	for tok, id := range m.Vocab {
		c.vocab[tok] = int32(id)
	}
	for b := range 256 {
		c.byteIDs[b] = -1
		if id, ok := c.vocab[fmt.Sprintf("<0x%02X>", b)]; ok {
			c.byteIDs[b] = id
		}
	}
	if m.UnkToken != nil {
		id, ok := c.vocab[*m.UnkToken]
		if !ok {
			return nil, fmt.Errorf("unk_token %q is not in the vocabulary", *m.UnkToken)
		}
		c.unk = id
	}
	return c, nil
}

// encodeChars is Encode for character-level files. It differs from the
// byte-level path in that pre-tokenizers may depend on whether a piece starts
// the input (Metaspace's prepend_scheme "first").
func (t *Tokenizer) encodeChars(text string) []int {
	st := &encodeState{ids: make([]int, 0, len(text)/3+1)}
	token := func(id int) { st.ids = append(st.ids, id) }
	t.addedRaw.splitAt(text, func(seg string, start int) {
		if t.normalize != nil {
			seg = t.normalize(seg)
		}
		t.addedNorm.splitAt(seg, func(sub string, subStart int) {
			t.preChars(st, sub, 0, start == 0 && subStart == 0)
		}, token)
	}, token)
	return st.ids
}

// preChars runs pre-tokenizer step k and those after it on s, then BPE on
// each piece; first says whether s starts the input.
func (t *Tokenizer) preChars(st *encodeState, s string, k int, first bool) {
	steps := t.chars.steps
	if k == len(steps) {
		st.ids = t.charWord(st.ids, s)
		return
	}
	n := 0
	emit := func(piece string) {
		t.preChars(st, piece, k+1, first && n == 0)
		n++
	}
	if m := steps[k].meta; m != nil {
		m.apply(s, first, emit)
		return
	}
	steps[k].split(s, emit)
}

// charWord returns the ids of one pre-tokenized piece, appended to dst, as
// the Rust library's BPE::merge_word and merge_all compute them.
func (t *Tokenizer) charWord(dst []int, piece string) []int {
	c := t.chars
	if out, ok := t.knownWord(dst, piece, c.vocab); ok {
		return out
	}
	var buf [64]int32
	syms := buf[:0]
	unk, unkPending := int32(-1), false
	for i := 0; i < len(piece); {
		_, w := utf8.DecodeRuneInString(piece[i:])
		ch := piece[i : i+w]
		i += w
		if id, ok := c.vocab[ch]; ok {
			if unkPending {
				syms, unkPending = append(syms, unk), false
			}
			syms = append(syms, id)
			continue
		}
		if c.byteFallback && c.hasBytes(ch) {
			// As in Rust, a pending unknown token is not flushed here.
			for j := 0; j < len(ch); j++ {
				syms = append(syms, c.byteIDs[ch[j]])
			}
			continue
		}
		if c.unk >= 0 {
			if unkPending && !c.fuseUnk {
				syms = append(syms, unk)
			}
			unk, unkPending = c.unk, true
		}
	}
	if unkPending {
		syms = append(syms, unk)
	}
	return t.mergeWord(dst, piece, syms)
}

// hasBytes reports whether every byte of s has a <0xNN> token.
func (c *charModel) hasBytes(s string) bool {
	for j := 0; j < len(s); j++ {
		if c.byteIDs[s[j]] < 0 {
			return false
		}
	}
	return true
}
