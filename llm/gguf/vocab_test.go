package gguf

import (
	"encoding/json"
	"testing"
)

// TestAddsSpacePrefix checks tokenizer.ggml.add_space_prefix as read from a
// tokenizer.json's normalizer and pre-tokenizer, at any depth of their
// sequences.
func TestAddsSpacePrefix(t *testing.T) {
	tests := []struct {
		name, json string
		want       bool
	}{
		{"none", `{}`, false},
		{"llama 2 prepend normalizer", `{"normalizer": {"type": "Sequence", "normalizers": [
			{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}}`, true},
		{"gemma replace only", `{"normalizer": {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}}`, false},
		{"replace by the word Prepend", `{"normalizer": {"type": "Replace", "pattern": {"String": "x"}, "content": "Prepend"}}`, false},
		{"metaspace first", `{"pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first"}}`, true},
		{"metaspace never", `{"pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never"}}`, false},
		{"metaspace in a sequence, old form", `{"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
			{"type": "Split", "pattern": {"Regex": " "}}, {"type": "Metaspace", "add_prefix_space": true}]}}`, true},
		{"metaspace without prefix, old form", `{"pre_tokenizer": {"type": "Metaspace", "add_prefix_space": false}}`, false},
		{"metaspace default", `{"pre_tokenizer": {"type": "Metaspace"}}`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tj tokenizerJSON
			if err := json.Unmarshal([]byte(tt.json), &tj); err != nil {
				t.Fatal(err)
			}
			if got := addsSpacePrefix(tj.Normalizer, tj.PreTokenizer); got != tt.want {
				t.Errorf("wrong add_space_prefix of %s\ngot:  %v\nwant: %v", tt.json, got, tt.want)
			}
		})
	}
}
