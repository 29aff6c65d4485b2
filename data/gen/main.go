// Command gen writes refeval's demo data: short instructions with short
// reference answers, in the JSON Lines formats of docs/stages.md.
//
//	go run ./data/gen -out data
//
// It writes train.prompts.jsonl, train.references.jsonl,
// test.prompts.jsonl, test.references.jsonl and corpus.txt (the training
// prompts and references, one per line, for training a tiny tokenizer).
// The output depends only on the seed: the test in this folder checks that
// the committed files are what this program writes.
//
// Every item was written for this project. Answers that can be computed
// (arithmetic, conversions, sorting, counting, reversal, parity, primes,
// number names, weekdays and months) are computed; the rest come from the
// small hand-checked tables in facts.go.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("out", "data", "folder to write the demo files into")
	seed := flag.Uint64("seed", DefaultSeed, "seed of the item choice, phrasing and split")
	flag.Parse()
	if err := write(*out, Generate(*seed)); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

// write writes the demo files into dir.
func write(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
}
