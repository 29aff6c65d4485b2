package gguf

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Token types of tokenizer.ggml.token_type (llama.cpp's llama_token_type).
const (
	tokenNormal      int32 = 1
	tokenUnknown     int32 = 2
	tokenControl     int32 = 3
	tokenUserDefined int32 = 4
	tokenUnused      int32 = 5
	tokenByte        int32 = 6
)

// Pre-tokenizer regexes of the tokenizers refeval knows, and the name
// llama.cpp gives each (tokenizer.ggml.pre). convert_hf_to_gguf.py tells
// them apart by hashing a tokenization; the regex says the same here.
var preTokenizers = map[string]string{
	`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`:      "qwen2",
	`(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`: "llama-bpe",
}

// tokenizerJSON is the part of a Hugging Face tokenizer.json that GGUF
// needs.
type tokenizerJSON struct {
	AddedTokens []struct {
		ID      int    `json:"id"`
		Content string `json:"content"`
		Special bool   `json:"special"`
	} `json:"added_tokens"`
	PreTokenizer  *preTokenizer `json:"pre_tokenizer"`
	Normalizer    *normalizer   `json:"normalizer"`
	PostProcessor *struct {
		Type       string            `json:"type"`
		Single     []json.RawMessage `json:"single"`
		Processors []struct {
			Type   string            `json:"type"`
			Single []json.RawMessage `json:"single"`
		} `json:"processors"`
	} `json:"post_processor"`
	Model struct {
		Type         string            `json:"type"`
		Vocab        map[string]int    `json:"vocab"`
		Merges       []json.RawMessage `json:"merges"`
		ByteFallback bool              `json:"byte_fallback"`
		UnkToken     *string           `json:"unk_token"`
	} `json:"model"`
}

type preTokenizer struct {
	Type    string `json:"type"`
	Pattern struct {
		Regex string `json:"Regex"`
	} `json:"pattern"`
	UseRegex      bool           `json:"use_regex"`
	PrependScheme string         `json:"prepend_scheme"`
	AddPrefix     *bool          `json:"add_prefix_space"`
	PreTokenizers []preTokenizer `json:"pretokenizers"`
}

// vocabMeta is the tokenizer metadata of a GGUF file.
type vocabMeta struct {
	Model  string // tokenizer.ggml.model: "gpt2" (byte-level BPE) or "llama" (SentencePiece)
	Tokens []string
	Types  []int32
	Merges []string  // gpt2 only
	Scores []float32 // llama only
	Pre    string    // gpt2 only
	AddBOS bool
	// AddSpacePrefix is tokenizer.ggml.add_space_prefix of a SentencePiece
	// vocabulary: Llama 2 and Mistral put ▁ in front of the text, Gemma does not.
	AddSpacePrefix bool
	IDs            map[string]int // Every token by content.
}

// parseVocab reads a byte-level BPE tokenizer.json into llama.cpp's
// "gpt2" vocabulary of exactly size tokens (ids missing from the file
// become [PADn], as convert_hf_to_gguf.py writes them). pre overrides the
// detected pre-tokenizer name when not empty.
func parseVocab(data []byte, size int, pre string) (*vocabMeta, error) {
	var tj tokenizerJSON
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, fmt.Errorf("bad JSON: %v", err)
	}
	if tj.Model.Type != "BPE" {
		return nil, fmt.Errorf("model type %q: only BPE tokenizers (byte-level or SentencePiece-style) can be exported", tj.Model.Type)
	}
	v := &vocabMeta{Model: "gpt2", Tokens: make([]string, size), Types: make([]int32, size), IDs: map[string]int{}}
	spm := tj.Model.ByteFallback || !hasByteLevel(tj.PreTokenizer)
	if spm {
		v.Model = "llama"
	}
	set := make([]bool, size)
	put := func(tok string, id int, typ int32) error {
		if id < 0 || id >= size {
			return fmt.Errorf("token %q has id %d outside the model's %d embedding rows", tok, id, size)
		}
		v.Tokens[id], v.Types[id], set[id] = tok, typ, true
		v.IDs[tok] = id
		return nil
	}
	for tok, id := range tj.Model.Vocab {
		typ := tokenNormal
		if spm && len(tok) == 6 && strings.HasPrefix(tok, "<0x") && strings.HasSuffix(tok, ">") {
			typ = tokenByte
		}
		if spm && tj.Model.UnkToken != nil && tok == *tj.Model.UnkToken {
			typ = tokenUnknown
		}
		if err := put(tok, id, typ); err != nil {
			return nil, err
		}
	}
	for _, t := range tj.AddedTokens {
		typ := tokenUserDefined
		if t.Special || strings.HasPrefix(t.Content, "<|") && strings.HasSuffix(t.Content, "|>") {
			typ = tokenControl
		}
		if spm && tj.Model.UnkToken != nil && t.Content == *tj.Model.UnkToken {
			typ = tokenUnknown
		}
		if err := put(t.Content, t.ID, typ); err != nil {
			return nil, err
		}
	}
	for i := range set {
		if !set[i] {
			v.Tokens[i], v.Types[i] = fmt.Sprintf("[PAD%d]", i), tokenUnused
		}
	}
	var merges [][2]string
	for i, raw := range tj.Model.Merges {
		var s string
		var pair []string
		switch {
		case json.Unmarshal(raw, &s) == nil:
			a, b, ok := strings.Cut(s, " ")
			if !ok {
				return nil, fmt.Errorf("merge %d %q is not two tokens separated by a space", i, s)
			}
			pair = []string{a, b}
		case json.Unmarshal(raw, &pair) == nil && len(pair) == 2:
			s = pair[0] + " " + pair[1]
		default:
			return nil, fmt.Errorf("merge %d is neither \"a b\" nor [\"a\", \"b\"]", i)
		}
		merges = append(merges, [2]string{pair[0], pair[1]})
		if !spm {
			v.Merges = append(v.Merges, s)
		}
	}
	if spm {
		v.Scores = spmScores(v.Tokens, v.IDs, merges)
		v.AddSpacePrefix = addsSpacePrefix(tj.Normalizer, tj.PreTokenizer)
	} else {
		v.Pre = pre
		if v.Pre == "" {
			var err error
			if v.Pre, err = detectPre(tj.PreTokenizer); err != nil {
				return nil, err
			}
		}
	}
	if pp := tj.PostProcessor; pp != nil {
		single := pp.Single
		for _, p := range pp.Processors {
			if p.Type == "TemplateProcessing" {
				single = p.Single
			}
		}
		if len(single) > 0 && strings.Contains(string(single[0]), `"SpecialToken"`) {
			v.AddBOS = true
		}
	}
	return v, nil
}

// detectPre names the pre-tokenizer as llama.cpp knows it.
func detectPre(p *preTokenizer) (string, error) {
	if p == nil {
		return "", fmt.Errorf("no pre_tokenizer: name llama.cpp's pre-tokenizer with --pre")
	}
	var regexes []string
	var byteLevelRegex bool
	var walk func(p preTokenizer)
	walk = func(p preTokenizer) {
		switch p.Type {
		case "Split":
			regexes = append(regexes, p.Pattern.Regex)
		case "ByteLevel":
			byteLevelRegex = byteLevelRegex || p.UseRegex
		case "Sequence":
			for _, q := range p.PreTokenizers {
				walk(q)
			}
		}
	}
	walk(*p)
	switch {
	case len(regexes) == 1 && !byteLevelRegex:
		if name, ok := preTokenizers[regexes[0]]; ok {
			return name, nil
		}
		return "", fmt.Errorf("pre-tokenizer regex %q is not one llama.cpp names here (qwen2, llama-bpe, gpt-2): name it with --pre", regexes[0])
	case len(regexes) == 0 && byteLevelRegex:
		return "gpt-2", nil
	}
	return "", fmt.Errorf("pre-tokenizer is not Qwen2's, Llama-3's or GPT-2's: name llama.cpp's pre-tokenizer with --pre")
}

// hasByteLevel reports whether the pre-tokenizer has a ByteLevel step.
func hasByteLevel(p *preTokenizer) bool {
	return p.any(func(q *preTokenizer) bool { return q.Type == "ByteLevel" })
}

// any reports whether f holds for p or a step of its sequence, at any
// depth (false for a nil p).
func (p *preTokenizer) any(f func(*preTokenizer) bool) bool {
	if p == nil {
		return false
	}
	if f(p) {
		return true
	}
	for i := range p.PreTokenizers {
		if p.PreTokenizers[i].any(f) {
			return true
		}
	}
	return false
}

// normalizer is the part of a tokenizer.json normalizer that export reads:
// its type and, for a Sequence, its steps.
type normalizer struct {
	Type        string       `json:"type"`
	Normalizers []normalizer `json:"normalizers"`
}

// prepends reports whether n or a step of its sequence is a Prepend.
func (n *normalizer) prepends() bool {
	if n == nil {
		return false
	}
	if n.Type == "Prepend" {
		return true
	}
	for i := range n.Normalizers {
		if n.Normalizers[i].prepends() {
			return true
		}
	}
	return false
}

// spmScores gives each token of a SentencePiece-style vocabulary the score
// llama.cpp's SPM tokenizer merges by (the highest first): minus the rank of
// the first merge that makes it, so that it merges in Hugging Face's order.
// Tokens no merge makes (characters, byte and special tokens) get -1e9.
func spmScores(tokens []string, ids map[string]int, merges [][2]string) []float32 {
	scores := make([]float32, len(tokens))
	for i := range scores {
		scores[i] = -1e9
	}
	for rank, m := range merges {
		if id, ok := ids[m[0]+m[1]]; ok && scores[id] == -1e9 {
			scores[id] = -float32(rank)
		}
	}
	return scores
}

// addsSpacePrefix reports whether the tokenizer puts ▁ in front of the text:
// a Prepend normalizer (Llama 2, Mistral) or a Metaspace pre-tokenizer that
// prepends (newer conversions). Gemma's Replace-only normalizer does not.
func addsSpacePrefix(n *normalizer, p *preTokenizer) bool {
	return n.prepends() || p.any(func(q *preTokenizer) bool {
		if q.Type != "Metaspace" {
			return false
		}
		if q.PrependScheme != "" {
			return q.PrependScheme != "never"
		}
		return q.AddPrefix == nil || *q.AddPrefix
	})
}
