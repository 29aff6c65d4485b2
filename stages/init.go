package stages

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/llm/checkpoint"
)

// The init kind writes a deterministic random checkpoint.
//
//	stage "init" "tiny" {
//	  tokenizer = stage.tokenizer.demo   # required: a tokenizer.json, or a folder holding one
//	  arch      = "qwen2"                # qwen2 | llama
//	  size      = "tiny"                 # tiny | small | a parameter count ("25M")
//	  seed      = 0
//	}
//
// The output folder is a Hugging Face model folder (config.json,
// model.safetensors, tokenizer files) that the other model stages load.

// InitVersion is the init kind's implementation version.
const InitVersion = "1"

func init() {
	Register(&engine.Kind{Name: "init", Version: InitVersion, Schema: initSchema, Decode: decodeInit})
}

var initSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "tokenizer", Required: true},
	{Name: "arch"},
	{Name: "size"},
	{Name: "seed"},
}}

type initStage struct {
	tokenizer  string
	arch, size string
	seed       int
}

func decodeInit(body hcl.Body, ectx *hcl.EvalContext) (engine.Stage, hcl.Diagnostics) {
	a := newAttrs(body, initSchema, ectx)
	s := &initStage{arch: "qwen2", size: "tiny"}
	a.path("tokenizer", &s.tokenizer, "a tokenizer.json path, a folder holding one, or a tokenizer stage (stage.tokenizer.NAME)")
	a.oneOf("arch", &s.arch, "qwen2", "qwen3", "llama", "mistral", "gemma3")
	a.str("size", &s.size, `"tiny", "small" or a parameter count such as "25M"`)
	if err := checkpoint.CheckSize(s.size); err != nil && a.has("size") {
		a.errorf(a.content.Attributes["size"], "Invalid size", "%v; use \"tiny\", \"small\" or a positive count with a K, M or B suffix, such as \"1.5B\".", err)
	}
	a.integer("seed", &s.seed, 0, 1<<53)
	return s, a.diags
}

func (s *initStage) Inputs() []string { return []string{s.tokenizer} }

func (s *initStage) Run(ctx context.Context, rc *engine.RunContext) error {
	path := resolve(rc.Dir, s.tokenizer)
	if fi, err := os.Stat(path); err != nil {
		return fmt.Errorf("tokenizer: %w", err)
	} else if fi.IsDir() {
		path = filepath.Join(path, "tokenizer.json")
	}
	cfg, err := checkpoint.Init(checkpoint.InitOptions{Arch: s.arch, Size: s.size, Tokenizer: path, Seed: uint64(s.seed), Out: rc.Out})
	if err != nil {
		return err
	}
	logf(rc, "init: %s %s, %d parameters, vocabulary %d\n", s.arch, s.size, checkpoint.NumParams(cfg), cfg.VocabSize)
	return nil
}
