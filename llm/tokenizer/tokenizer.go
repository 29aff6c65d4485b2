package tokenizer

import "strings"

// A Tokenizer encodes text to token ids and decodes ids to text. It is safe
// for concurrent use.
type Tokenizer struct {
	vocab        map[string]int   // token (byte-level form, or added token content) → id
	tokens       []string         // id → token; "" for ids without one
	raw          map[string]int32 // raw bytes of a model token → id, for ignore_merges
	byteIDs      [256]int32       // id of each single byte, -1 if missing
	merges       map[uint64]mergeRule
	ignoreMerges bool
	special      map[int]bool // added tokens marked special

	normalize func(string) string // nil: none
	splitters []splitFunc         // byte-level files

	chars     *charModel    // character-level (SentencePiece-style) files; nil for byte-level ones
	charDec   *charDecoder  // their decoder
	addedRaw  *addedMatcher // added tokens matched in the raw text
	addedNorm *addedMatcher // added tokens matched after normalization

	prefix, suffix []int // what the post-processor adds around a sequence

	cache wordCache
}

// Encode returns the ids of text. No special tokens are added around it (as
// the Rust library with add_special_tokens=false), but added and special
// tokens written inside text are matched, so "<|im_start|>" is one id.
func (t *Tokenizer) Encode(text string) []int {
	if t.chars != nil {
		return t.encodeChars(text)
	}
	st := &encodeState{ids: make([]int, 0, len(text)/3+1)}
	token := func(id int) { st.ids = append(st.ids, id) }
	t.addedRaw.split(text, func(seg string) {
		if t.normalize != nil {
			seg = t.normalize(seg)
		}
		t.addedNorm.split(seg, func(seg string) {
			t.pretokenize(st, seg, 0)
		}, token)
	}, token)
	return st.ids
}

// encodeState holds the ids of one Encode call. The pre-tokenizers' callbacks
// share it by pointer, so that no piece costs an allocation.
type encodeState struct {
	ids []int
}

// pretokenize runs splitter k and those after it on s, then BPE on each piece.
func (t *Tokenizer) pretokenize(st *encodeState, s string, k int) {
	if k == len(t.splitters) {
		st.ids = t.bpeWord(st.ids, s)
		return
	}
	t.splitters[k](s, func(piece string) {
		t.pretokenize(st, piece, k+1)
	})
}

// EncodeWithSpecial returns Encode(text) with the special tokens that the
// file's post-processor adds around a single sequence (Llama-3: BOS before).
func (t *Tokenizer) EncodeWithSpecial(text string) []int {
	ids := append([]int(nil), t.prefix...)
	ids = append(ids, t.Encode(text)...)
	return append(ids, t.suffix...)
}

// BOS returns the token the post-processor puts before a sequence (Llama-3:
// <|begin_of_text|>), and false if it puts none (Qwen2, GPT-2).
func (t *Tokenizer) BOS() (int, bool) {
	if len(t.prefix) == 0 {
		return 0, false
	}
	return t.prefix[0], true
}

// TokenID returns the id of a token, given in its vocabulary form (byte-level,
// "Ġhello" for " hello"; SentencePiece, "▁hello") or as an added token's content ("<|im_end|>").
func (t *Tokenizer) TokenID(s string) (int, bool) {
	id, ok := t.vocab[s]
	return id, ok
}

// Token returns the vocabulary form of id, "" if there is none.
func (t *Tokenizer) Token(id int) string {
	if id < 0 || id >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// IsSpecial reports whether id is an added token marked special.
func (t *Tokenizer) IsSpecial(id int) bool { return t.special[id] }

// VocabSize returns the number of ids, added tokens included (one more than
// the largest id).
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// tokenBytes returns the bytes id decodes to, as the ByteLevel decoder maps
// it, and false for unknown ids.
func (t *Tokenizer) tokenBytes(id int) (string, bool) {
	if id < 0 || id >= len(t.tokens) {
		return "", false
	}
	tok := t.tokens[id]
	if tok == "" {
		return "", false
	}
	if raw, ok := unByteLevel(tok); ok {
		return raw, true
	}
	return tok, true
}

// Decode returns the text of ids. Unknown ids are dropped and so, with
// skipSpecial, are special tokens; bytes that do not form UTF-8 become U+FFFD
// as in Rust's String::from_utf8_lossy.
func (t *Tokenizer) Decode(ids []int, skipSpecial bool) string {
	if t.charDec != nil {
		d := t.NewDecoder()
		d.SkipSpecial = skipSpecial
		var b strings.Builder
		for _, id := range ids {
			b.WriteString(d.Add(id))
		}
		b.WriteString(d.Flush())
		return b.String()
	}
	var b strings.Builder
	for _, id := range ids {
		if skipSpecial && t.special[id] {
			continue
		}
		s, _ := t.tokenBytes(id)
		b.WriteString(s)
	}
	return lossyUTF8(b.String())
}
