package stages

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/internal/atomicfile"
	"github.com/refeval/refeval/llm/chat"
	"github.com/refeval/refeval/llm/tokenizer"
)

// The tokenizer kind trains a small byte-level BPE tokenizer on text files.
//
//	stage "tokenizer" "demo" {
//	  files         = ["data/corpus.txt"]  # required
//	  vocab         = 1024                 # ids in all, bytes and special tokens included
//	  min_frequency = 2                    # pairs seen fewer times are never merged
//	}
//
// It writes tokenizer.json and a tokenizer_config.json with the ChatML
// template and eos_token <|im_end|>, so the folder can be an init stage's
// tokenizer. Training is deterministic.

// TokenizerVersion is the tokenizer kind's implementation version.
const TokenizerVersion = "1"

// DefaultVocab is the tokenizer kind's default vocabulary size.
const DefaultVocab = 1024

func init() {
	Register(&engine.Kind{Name: "tokenizer", Version: TokenizerVersion, Schema: tokenizerSchema, Decode: decodeTokenizer})
}

var tokenizerSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "files", Required: true},
	{Name: "vocab"},
	{Name: "min_frequency"},
}}

type tokenizerStage struct {
	files   []string
	vocab   int
	minFreq int
}

func decodeTokenizer(body hcl.Body, ectx *hcl.EvalContext) (engine.Stage, hcl.Diagnostics) {
	a := newAttrs(body, tokenizerSchema, ectx)
	s := &tokenizerStage{vocab: DefaultVocab, minFreq: 2}
	a.strList("files", &s.files, "text file paths")
	a.integer("vocab", &s.vocab, 256+len(tokenizer.ChatMLSpecialTokens), 1<<20)
	a.integer("min_frequency", &s.minFreq, 1, 1<<30)
	return s, a.diags
}

func (s *tokenizerStage) Inputs() []string { return s.files }

func (s *tokenizerStage) Run(ctx context.Context, rc *engine.RunContext) error {
	var texts []string
	for _, f := range s.files {
		data, err := os.ReadFile(resolve(rc.Dir, f))
		if err != nil {
			return fmt.Errorf("reading tokenizer training text: %w", err)
		}
		texts = append(texts, string(data))
	}
	data, err := tokenizer.Train(texts, tokenizer.TrainOptions{VocabSize: s.vocab, MinFrequency: s.minFreq})
	if err != nil {
		return fmt.Errorf("training the tokenizer: %w", err)
	}
	tok, err := tokenizer.Parse(data)
	if err != nil {
		return fmt.Errorf("the trained tokenizer does not load (a bug): %w", err)
	}
	if err := atomicfile.WriteBytes(filepath.Join(rc.Out, "tokenizer.json"), data); err != nil {
		return err
	}
	cfg, _ := json.MarshalIndent(map[string]any{
		"chat_template":    chat.ChatML().Source(),
		"eos_token":        "<|im_end|>",
		"pad_token":        "<|endoftext|>",
		"model_max_length": 32768,
	}, "", "  ")
	if err := atomicfile.WriteBytes(filepath.Join(rc.Out, "tokenizer_config.json"), append(cfg, '\n')); err != nil {
		return err
	}
	logf(rc, "tokenizer: %d ids from %d files\n", tok.VocabSize(), len(s.files))
	return nil
}
