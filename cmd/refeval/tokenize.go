package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/refeval/refeval/llm/tokenizer"
)

var cmdTokenize = &Command{
	UsageLine: "tokenize --tokenizer FILE [--decode [--skip-special]]",
	Short:     "encode text to token ids, or decode ids to text",
	Long: `
Tokenize reads one JSON string per line on standard input and prints, for each,
one JSON array of token ids. No special tokens are added around the text, but
added and special tokens written in it (such as <|im_start|>) are matched, as
the Hugging Face tokenizers do with add_special_tokens=false.

The --tokenizer flag names a Hugging Face tokenizer.json (or tokenizer.json.gz)
of a byte-level BPE model: Qwen2, Llama-3, GPT-2, or one written by
'refeval tokenizer train'.

With --decode it works the other way: one JSON array of ids per line in, one
JSON string per line out. --skip-special leaves special tokens out of the text.
`,
}

var (
	tokenizeFile        = cmdTokenize.Flag.String("tokenizer", "", "tokenizer.json file")
	tokenizeDecode      = cmdTokenize.Flag.Bool("decode", false, "decode ids to text")
	tokenizeSkipSpecial = cmdTokenize.Flag.Bool("skip-special", false, "with --decode, leave special tokens out")
)

func init() {
	cmdTokenize.Run = runTokenize
	register(cmdTokenize)
}

func runTokenize(ctx context.Context, cmd *Command, args []string) error {
	if *tokenizeFile == "" {
		return usageErrorf("--tokenizer is required")
	}
	if len(args) > 0 {
		return usageErrorf("unexpected arguments %q: the input comes on standard input", args)
	}
	tok, err := tokenizer.Load(*tokenizeFile)
	if err != nil {
		return err
	}
	return tokenizeLines(ctx, tok, os.Stdin, os.Stdout, *tokenizeDecode, *tokenizeSkipSpecial)
}

// tokenizeLines encodes (or decodes) r line by line into w.
func tokenizeLines(ctx context.Context, tok *tokenizer.Tokenizer, r io.Reader, w io.Writer, decode, skipSpecial bool) error {
	in := bufio.NewReader(r)
	out := bufio.NewWriter(w)
	defer out.Flush()
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	for line := 1; ; line++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		text, err := in.ReadBytes('\n')
		if len(text) == 0 && err == io.EOF {
			return nil
		}
		if err != nil && err != io.EOF {
			return fmt.Errorf("reading standard input: %w", err)
		}
		if decode {
			var ids []int
			if err := json.Unmarshal(text, &ids); err != nil {
				return fmt.Errorf("stdin:%d: want a JSON array of token ids: %v", line, err)
			}
			for _, id := range ids {
				if id < 0 || id >= tok.VocabSize() {
					return fmt.Errorf("stdin:%d: token id %d is out of range: the tokenizer has %d ids", line, id, tok.VocabSize())
				}
			}
			if err := enc.Encode(tok.Decode(ids, skipSpecial)); err != nil {
				return err
			}
		} else {
			var s string
			if err := json.Unmarshal(text, &s); err != nil {
				return fmt.Errorf("stdin:%d: want a JSON string: %v", line, err)
			}
			ids := tok.Encode(s)
			if ids == nil {
				ids = []int{}
			}
			if err := enc.Encode(ids); err != nil {
				return err
			}
		}
	}
}
