package main

import (
	"fmt"
	"io"

	"github.com/refeval/refeval/llm/gguf"
)

var (
	modelGGUF     = cmdModel.Flag.String("gguf", "", "model export: GGUF file to write")
	modelGGUFType = cmdModel.Flag.String("type", "f32", "model export: weight type, f32 or f16")
)

// modelExportUsage documents `refeval model export`.
const modelExportUsage = `
	refeval model export --gguf OUT.gguf [--type f32|f16] DIR

writes the checkpoint folder DIR as one GGUF file that llama.cpp and Ollama
run: architecture metadata, tensors under llama.cpp's names (Llama's query
and key rows permuted for its RoPE layout), 2-D weights as F32 or F16, the
tokenizer and the chat template.
`

func init() {
	cmdModel.Long += modelExportUsage
}

// runModelExport runs `refeval model export` with the arguments after "export".
func runModelExport(args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return usageErrorf("model export takes one checkpoint folder")
	}
	if *modelGGUF == "" {
		return usageErrorf("model export: --gguf OUT.gguf is required")
	}
	typ, ok := gguf.ParseType(*modelGGUFType)
	if !ok {
		return usageErrorf("model export: --type %q: want f32 or f16", *modelGGUFType)
	}
	b, err := gguf.Export(args[0], gguf.Options{Type: typ})
	if err != nil {
		return err
	}
	if err := gguf.WriteFile(*modelGGUF, b); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %s, %s weights, %.1f MB\n", *modelGGUF, args[0], typ, float64(b.Size())/1e6)
	return nil
}
