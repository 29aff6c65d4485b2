package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// fileJSON is the part of tokenizer.json that Load reads.
type fileJSON struct {
	AddedTokens   []addedTokenJSON `json:"added_tokens"`
	Normalizer    json.RawMessage  `json:"normalizer"`
	PreTokenizer  json.RawMessage  `json:"pre_tokenizer"`
	PostProcessor json.RawMessage  `json:"post_processor"`
	Decoder       json.RawMessage  `json:"decoder"`
	Model         modelJSON        `json:"model"`
}

type addedTokenJSON struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type modelJSON struct {
	Type                    string         `json:"type"`
	Dropout                 *float64       `json:"dropout"`
	UnkToken                *string        `json:"unk_token"`
	ContinuingSubwordPrefix *string        `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string        `json:"end_of_word_suffix"`
	ByteFallback            bool           `json:"byte_fallback"`
	FuseUnk                 bool           `json:"fuse_unk"`
	IgnoreMerges            bool           `json:"ignore_merges"`
	Vocab                   map[string]int `json:"vocab"`
	Merges                  mergeList      `json:"merges"`
}

// Load reads a Hugging Face tokenizer.json (or a gzip-compressed one, named
// *.gz) and returns its tokenizer. It refuses, with an error naming the part,
// what this package does not implement, rather than encode differently.
func Load(path string) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Parse builds a tokenizer from the contents of a tokenizer.json file.
func Parse(data []byte) (*Tokenizer, error) {
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("not a tokenizer.json file: %w", err)
	}
	t := &Tokenizer{}
	steps, byteLevel, err := parsePreTokenizer(f.PreTokenizer)
	if err != nil {
		return nil, err
	}
	if err := t.setModel(&f.Model, byteLevel); err != nil {
		return nil, err
	}
	if t.normalize, err = parseNormalizer(f.Normalizer); err != nil {
		return nil, err
	}
	if err := t.setAdded(f.AddedTokens); err != nil {
		return nil, err
	}
	if byteLevel {
		for _, s := range steps {
			t.splitters = append(t.splitters, s.split)
		}
		if err := checkDecoder(f.Decoder); err != nil {
			return nil, err
		}
	} else {
		if t.chars, err = newCharModel(&f.Model, steps); err != nil {
			return nil, err
		}
		if t.charDec, err = parseCharDecoder(f.Decoder); err != nil {
			return nil, err
		}
	}
	if t.prefix, t.suffix, err = t.parsePostProcessor(f.PostProcessor); err != nil {
		return nil, err
	}
	return t, nil
}

// setModel reads the BPE model: vocabulary and merges. A byte-level model
// (ByteLevel pre-tokenizer) has byte symbols, others character symbols.
func (t *Tokenizer) setModel(m *modelJSON, byteLevel bool) error {
	switch {
	case m.Type != "BPE" && !(m.Type == "" && m.Vocab != nil):
		return fmt.Errorf("model type %q is not supported: only BPE is", m.Type)
	case m.Dropout != nil && *m.Dropout != 0:
		return fmt.Errorf("BPE dropout is not supported; set \"dropout\": null")
	case m.ByteFallback && byteLevel:
		return fmt.Errorf("BPE byte_fallback with a ByteLevel pre-tokenizer is not supported")
	case m.ContinuingSubwordPrefix != nil && *m.ContinuingSubwordPrefix != "",
		m.EndOfWordSuffix != nil && *m.EndOfWordSuffix != "":
		return fmt.Errorf("BPE continuing_subword_prefix and end_of_word_suffix are not supported")
	}
	t.ignoreMerges = m.IgnoreMerges
	size := 0
	for tok, id := range m.Vocab {
		if id < 0 {
			return fmt.Errorf("vocab entry %q has negative id %d", tok, id)
		}
		size = max(size, id+1)
	}
	t.tokens = make([]string, size)
	t.vocab = make(map[string]int, len(m.Vocab))
	if byteLevel {
		t.raw = make(map[string]int32, len(m.Vocab))
	}
	for tok, id := range m.Vocab {
		t.tokens[id] = tok
		t.vocab[tok] = id
		if !byteLevel {
			continue
		}
		if raw, ok := unByteLevel(tok); ok {
			t.raw[raw] = int32(id)
		}
	}
	for b := range 256 {
		id, ok := t.vocab[string(byteChars[b])]
		if !ok {
			id = -1 // Rust drops bytes missing from the vocabulary (no unk_token)
		}
		t.byteIDs[b] = int32(id)
	}
	t.merges = make(map[uint64]mergeRule, len(m.Merges))
	for rank, pair := range m.Merges {
		a, b := pair[0], pair[1]
		ia, oka := t.vocab[a]
		ib, okb := t.vocab[b]
		inew, oknew := t.vocab[a+b]
		if !oka || !okb || !oknew {
			return fmt.Errorf("merge %d (%q, %q): a token is missing from the vocabulary", rank, a, b)
		}
		t.merges[pairKey(int32(ia), int32(ib))] = mergeRule{rank: int32(rank), id: int32(inew)}
	}
	return nil
}

// setAdded reads the added tokens, which may lie beyond the model's vocabulary.
func (t *Tokenizer) setAdded(added []addedTokenJSON) error {
	t.special = make(map[int]bool)
	var raw, norm []addedToken
	for _, a := range added {
		switch {
		case a.Content == "":
			return fmt.Errorf("added token %d is empty", a.ID)
		case a.ID < 0:
			return fmt.Errorf("added token %q has negative id %d", a.Content, a.ID)
		case a.SingleWord || a.LStrip || a.RStrip:
			return fmt.Errorf("added token %q: single_word, lstrip and rstrip are not supported", a.Content)
		}
		for a.ID >= len(t.tokens) {
			t.tokens = append(t.tokens, "")
		}
		t.tokens[a.ID] = a.Content
		t.vocab[a.Content] = a.ID
		if a.Special {
			t.special[a.ID] = true
		}
		at := addedToken{content: a.Content, id: a.ID}
		if a.Normalized {
			if t.normalize != nil {
				at.content = t.normalize(at.content) // Rust matches the normalized form
			}
			norm = append(norm, at)
		} else {
			raw = append(raw, at)
		}
	}
	t.addedRaw = newAddedMatcher(raw)
	t.addedNorm = newAddedMatcher(norm)
	return nil
}

// typed is the "type" field every component has.
type typed struct {
	Type string `json:"type"`
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

// checkDecoder accepts the ByteLevel decoder (or none, or a Sequence of them).
func checkDecoder(raw json.RawMessage) error {
	if isNull(raw) {
		return nil
	}
	var d struct {
		Type     string            `json:"type"`
		Decoders []json.RawMessage `json:"decoders"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return fmt.Errorf("decoder: %w", err)
	}
	switch d.Type {
	case "ByteLevel":
		return nil
	case "Sequence":
		for _, sub := range d.Decoders {
			if err := checkDecoder(sub); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("decoder %q is not supported: only ByteLevel is", d.Type)
}

// parsePostProcessor returns the special tokens a TemplateProcessing
// post-processor puts before and after a single sequence.
func (t *Tokenizer) parsePostProcessor(raw json.RawMessage) (prefix, suffix []int, err error) {
	if isNull(raw) {
		return nil, nil, nil
	}
	var p struct {
		Type       string            `json:"type"`
		Processors []json.RawMessage `json:"processors"`
		Single     []struct {
			SpecialToken *struct {
				ID string `json:"id"`
			} `json:"SpecialToken"`
			Sequence *struct {
				ID string `json:"id"`
			} `json:"Sequence"`
		} `json:"single"`
		SpecialTokens map[string]struct {
			IDs []int `json:"ids"`
		} `json:"special_tokens"`
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, nil, fmt.Errorf("post_processor: %w", err)
	}
	switch p.Type {
	case "ByteLevel":
		return nil, nil, nil // offsets only
	case "Sequence":
		for _, sub := range p.Processors {
			pre, suf, err := t.parsePostProcessor(sub)
			if err != nil {
				return nil, nil, err
			}
			prefix, suffix = append(prefix, pre...), append(suffix, suf...)
		}
		return prefix, suffix, nil
	case "TemplateProcessing":
		seen := false
		for _, piece := range p.Single {
			switch {
			case piece.Sequence != nil:
				seen = true
			case piece.SpecialToken != nil:
				st, ok := p.SpecialTokens[piece.SpecialToken.ID]
				if !ok {
					return nil, nil, fmt.Errorf("post_processor: special token %q has no ids", piece.SpecialToken.ID)
				}
				if seen {
					suffix = append(suffix, st.IDs...)
				} else {
					prefix = append(prefix, st.IDs...)
				}
			}
		}
		return prefix, suffix, nil
	}
	return nil, nil, fmt.Errorf("post_processor %q is not supported", p.Type)
}
