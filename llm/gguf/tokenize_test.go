package gguf

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/refeval/refeval/llm/tokenizer"
)

// TestLlamaCppTokenize checks the tokenizer that Export embeds: llama.cpp,
// loading it from exported files (scripts/tokenize.mjs), split hard
// strings into the same ids as refeval's tokenizer (itself checked against
// Hugging Face's in package tokenizer). A wrong pre-tokenizer name, merge
// list or token type shows up here as different ids.
func TestLlamaCppTokenize(t *testing.T) {
	data, err := os.ReadFile("testdata/tokenize_llamacpp.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		Texts []string           `json:"texts"`
		IDs   map[string][][]int `json:"ids"`
	}
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.IDs) == 0 {
		t.Fatal("no tokenizers in the golden file")
	}
	for path, want := range g.IDs {
		t.Run(filepath.Base(filepath.Dir(path)), func(t *testing.T) {
			if _, err := os.Stat(filepath.Join(repoRoot, path)); err != nil && os.Getenv("CI") != "true" {
				t.Skipf("%s is missing (too large to commit: run models/tokenizers/fetch.sh)", path)
			}
			tok, err := tokenizer.Load(filepath.Join(repoRoot, path))
			if err != nil {
				t.Fatal(err)
			}
			for i, text := range g.Texts {
				if got := tok.Encode(text); !slices.Equal(got, want[i]) {
					t.Errorf("%q: wrong ids\ngot:  %v\nwant: %v (llama.cpp)", text, got, want[i])
				}
			}
		})
	}
}
