package main

import (
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
of a BPE model: byte-level (Qwen2, Qwen3, Llama-3, GPT-2, DeepSeek-V3,
gpt-oss, or one written by 'refeval tokenizer train') or SentencePiece-style
with byte fallback (Llama 2, Mistral, Gemma 3).

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
	return jsonLines(ctx, r, w, func(line int, text []byte) (any, error) {
		if decode {
			var ids []int
			if err := json.Unmarshal(text, &ids); err != nil {
				return nil, fmt.Errorf("stdin:%d: want a JSON array of token ids: %v", line, err)
			}
			for _, id := range ids {
				if id < 0 || id >= tok.VocabSize() {
					return nil, fmt.Errorf("stdin:%d: token id %d is out of range: the tokenizer has %d ids", line, id, tok.VocabSize())
				}
			}
			return tok.Decode(ids, skipSpecial), nil
		}
		var s string
		if err := json.Unmarshal(text, &s); err != nil {
			return nil, fmt.Errorf("stdin:%d: want a JSON string: %v", line, err)
		}
		ids := tok.Encode(s)
		if ids == nil {
			ids = []int{}
		}
		return ids, nil
	})
}
