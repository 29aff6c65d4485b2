package tokenizer

import (
	"strings"
	"testing"
)

// minimal builds a tokenizer.json with a 256-byte vocabulary; edit replaces
// one part of it.
func minimal(edit ...string) string {
	var vocab []string
	for b := range 256 {
		vocab = append(vocab, `"`+jsonEscape(string(byteChars[b]))+`": `+itoa(b))
	}
	parts := map[string]string{
		"pre_tokenizer": `{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true}`,
		"normalizer":    `null`,
		"decoder":       `{"type": "ByteLevel"}`,
		"added_tokens":  `[]`,
		"model":         `{"type": "BPE", "vocab": {` + strings.Join(vocab, ",") + `, "ab": 256}, "merges": ["a b"]}`,
	}
	for i := 0; i+1 < len(edit); i += 2 {
		parts[edit[i]] = edit[i+1]
	}
	var fields []string
	for k, v := range parts {
		fields = append(fields, `"`+k+`": `+v)
	}
	return "{" + strings.Join(fields, ",") + "}"
}

func jsonEscape(s string) string {
	switch s {
	case `"`:
		return `\"`
	case `\`:
		return `\\`
	}
	return s
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func TestParse(t *testing.T) {
	tok, err := Parse([]byte(minimal()))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.Encode("ab a"), []int{256, 32, 97}; !equalInts(got, want) {
		t.Errorf("wrong ids\ngot:  %#v\nwant: %#v", got, want)
	}
	tok, err = Parse([]byte(minimal("model", `{"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": [["a", "b"]]}`)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.Encode("abc"), []int{2}; !equalInts(got, want) {
		t.Errorf("wrong ids (pair merges, byte c missing from vocab)\ngot:  %#v\nwant: %#v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, json, want string
	}{
		{"not json", `{`, "not a tokenizer.json"},
		{"wordpiece", minimal("model", `{"type": "WordPiece", "vocab": {}}`), `model type "WordPiece"`},
		{"byte fallback", minimal("model", `{"type": "BPE", "byte_fallback": true, "vocab": {}, "merges": []}`), "byte_fallback"},
		{"bad merge", minimal("model", `{"type": "BPE", "vocab": {"a": 0}, "merges": ["a"]}`), "merge 0"},
		{"merge not in vocab", minimal("model", `{"type": "BPE", "vocab": {"a": 0}, "merges": ["a a"]}`), "missing from the vocabulary"},
		{"normalizer", minimal("normalizer", `{"type": "Precompiled"}`), `normalizer "Precompiled"`},
		{"metaspace with byte level", minimal("pre_tokenizer", `{"type": "Sequence", "pretokenizers": [{"type": "Metaspace"}, {"type": "ByteLevel"}]}`), "Metaspace with ByteLevel"},
		{"byte-level decoder, char model", minimal("pre_tokenizer", `null`), `decoder "ByteLevel" is not supported for a character-level`},
		{"metaspace scheme", minimal("pre_tokenizer", `{"type": "Metaspace", "prepend_scheme": "sometimes"}`), `prepend_scheme "sometimes"`},
		{"split behavior", minimal("pre_tokenizer", `{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"String": " "}, "behavior": "Sideways"}, {"type": "ByteLevel"}]}`), `behavior "Sideways"`},
		{"split pattern", minimal("pre_tokenizer", `{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Glob": " "}, "behavior": "Isolated"}, {"type": "ByteLevel"}]}`), "pattern"},
		{"char decoder order", minimal("pre_tokenizer", `null`, "decoder", `{"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Replace", "pattern": {"String": "x"}, "content": "y"}]}`), "Replace after ByteFallback"},
		{"unk not in vocab", minimal("pre_tokenizer", `null`, "decoder", `null`, "model", `{"type": "BPE", "unk_token": "<unk>", "vocab": {"a": 0}, "merges": []}`), "unk_token"},
		{"bad regex", minimal("pre_tokenizer", `{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "("}, "behavior": "Isolated"}, {"type": "ByteLevel"}]}`), "regex"},
		{"decoder", minimal("decoder", `{"type": "WordPiece"}`), `decoder "WordPiece"`},
		{"lstrip", minimal("added_tokens", `[{"id": 300, "content": "<m>", "lstrip": true}]`), "lstrip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("wrong error\ngot:  %v\nwant: something with %q", err, tc.want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := Load("testdata/no-such-file.json"); err == nil {
		t.Errorf("no error for a missing file")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
