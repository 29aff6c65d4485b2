package data

import (
	"bytes"
	"os"
	"testing"
)

func TestFiles(t *testing.T) {
	for _, name := range []string{"train.prompts.jsonl", "train.references.jsonl", "test.prompts.jsonl", "test.references.jsonl", "corpus.txt"} {
		t.Run(name, func(t *testing.T) {
			got, err := Files.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			want, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 || !bytes.Equal(got, want) {
				t.Errorf("wrong embedded %s: %d bytes, file has %d", name, len(got), len(want))
			}
		})
	}
}
