package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/refeval/refeval/llm/tokenizer"
)

var cmdTokenizer = &Command{
	UsageLine: "tokenizer train --vocab N --out tokenizer.json FILES...",
	Short:     "train a small byte-level BPE tokenizer",
	Long: `
Tokenizer train learns a byte-level BPE vocabulary of N ids from the text
FILES and writes it as a Hugging Face tokenizer.json, which refeval and the
Hugging Face tokenizers library both load. It is meant for small demo models.

The file uses the GPT-2 pre-tokenizer, no normalizer, and the special tokens
<|endoftext|>, <|im_start|> and <|im_end|> (the last three ids). Ids 0-255
are the bytes; each merge adds the next id, the most frequent pair first, ties
to the pair with the smallest ids, so the same files always give the same
tokenizer. A pair seen fewer than --min-frequency times is never merged, so
the vocabulary may come out smaller than N.
`,
}

var (
	trainVocab   = cmdTokenizer.Flag.Int("vocab", 4096, "vocabulary size, bytes and special tokens included")
	trainOut     = cmdTokenizer.Flag.String("out", "", "tokenizer.json file to write")
	trainMinFreq = cmdTokenizer.Flag.Int("min-frequency", 2, "merge only pairs seen this many times")
)

func init() {
	cmdTokenizer.Run = runTokenizer
	register(cmdTokenizer)
}

func runTokenizer(ctx context.Context, cmd *Command, args []string) error {
	if len(args) == 0 || args[0] != "train" {
		return usageErrorf("the only subcommand is train")
	}
	files := args[1:]
	switch {
	case *trainOut == "":
		return usageErrorf("--out is required")
	case len(files) == 0:
		return usageErrorf("name at least one text file to train on")
	case *trainVocab < 259:
		return usageErrorf("--vocab %d is too small: 256 bytes and 3 special tokens need 259", *trainVocab)
	}
	var texts []string
	size := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		texts = append(texts, string(data))
		size += len(data)
	}
	start := time.Now()
	data, err := tokenizer.Train(texts, tokenizer.TrainOptions{VocabSize: *trainVocab, MinFrequency: *trainMinFreq})
	if err != nil {
		return err
	}
	tok, err := tokenizer.Parse(data)
	if err != nil {
		return fmt.Errorf("the trained tokenizer does not load (a bug): %w", err)
	}
	tmp := *trainOut + ".tmp"
	if err := os.WriteFile(tmp, data, 0o666); err != nil {
		return err
	}
	if err := os.Rename(tmp, *trainOut); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "refeval: trained %d ids on %d bytes of %s in %v: %s\n",
		tok.VocabSize(), size, strings.Join(files, ", "), time.Since(start).Round(time.Millisecond), *trainOut)
	return nil
}
