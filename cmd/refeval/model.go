package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/refeval/refeval/llm/checkpoint"
)

var cmdModel = &Command{
	UsageLine: "model init|inspect|export [arguments]",
	Short:     "create or describe a model checkpoint folder",
	Long: `
Model works on Hugging Face checkpoint folders (config.json, *.safetensors,
tokenizer.json, tokenizer_config.json).

	refeval model init --arch qwen2|qwen3|llama|mistral|gemma3 --size tiny|small|N --tokenizer FILE [--seed N] --out DIR

writes a deterministic random model of the real architecture: weights drawn
as Hugging Face initializes them (normal, std 0.02; norms 1; biases 0) from
--seed, sized by --size (tiny: hidden 64, 2 layers; small: about 25M
parameters; N: a parameter count such as 100M), with the vocabulary of the
tokenizer (tokenizer.json or tokenizer.json.gz), which is copied next to the
weights together with a tokenizer_config.json: the tokenizer's own one when
it carries a chat template, one with a ChatML template otherwise. The
end-of-sequence ids are the tokenizer's <|im_end|>, <|eot_id|>,
<|endoftext|>… tokens.

	refeval model inspect DIR

prints the architecture, the tensor shapes, the parameter count, the dtype and
a summary of the tokenizer. It reads config.json and the tokenizer files, not
the weights (generate and model export load and check those).
`,
}

var (
	modelArch      = cmdModel.Flag.String("arch", "qwen2", "model init: architecture, qwen2, qwen3, llama, mistral or gemma3")
	modelSize      = cmdModel.Flag.String("size", "tiny", "model init: tiny, small or a parameter count (25M, 1.5B)")
	modelTokenizer = cmdModel.Flag.String("tokenizer", "", "model init: tokenizer.json (or .json.gz) file")
	modelSeed      = cmdModel.Flag.Uint64("seed", 1, "model init: seed of the random weights")
	modelOut       = cmdModel.Flag.String("out", "", "model init: folder to write")
)

func init() {
	cmdModel.Run = runModel
	register(cmdModel)
}

func runModel(ctx context.Context, cmd *Command, args []string) error {
	if len(args) == 0 {
		return usageErrorf("missing subcommand: init, inspect or export")
	}
	switch args[0] {
	case "init":
		if len(args) > 1 {
			return usageErrorf("model init: unexpected arguments %q", args[1:])
		}
		if *modelTokenizer == "" || *modelOut == "" {
			return usageErrorf("model init: --tokenizer and --out are required")
		}
		return modelInit(checkpoint.InitOptions{Arch: *modelArch, Size: *modelSize, Tokenizer: *modelTokenizer, Seed: *modelSeed, Out: *modelOut}, os.Stdout)
	case "inspect":
		if len(args) != 2 {
			return usageErrorf("model inspect takes one folder")
		}
		return modelInspect(args[1], os.Stdout)
	case "export":
		return runModelExport(args[1:], os.Stdout)
	}
	return usageErrorf("unknown subcommand %q: want init, inspect or export", args[0])
}

// modelInit writes a random model folder and reports it on stdout.
func modelInit(opt checkpoint.InitOptions, stdout io.Writer) error {
	cfg, err := checkpoint.Init(opt)
	if err != nil {
		return fmt.Errorf("model init: %w", err)
	}
	fmt.Fprintf(stdout, "wrote %s: %s, %s parameters (hidden %d, %d layers, vocab %d)\n",
		opt.Out, cfg.Architecture, humanCount(checkpoint.NumParams(cfg)), cfg.HiddenSize, cfg.NumHiddenLayers, cfg.VocabSize)
	return nil
}

// modelInspect prints a summary of the checkpoint folder dir from its
// config and tokenizer files; a multi-gigabyte model is not read into memory.
func modelInspect(dir string, w io.Writer) error {
	c, err := checkpoint.ReadConfig(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "architecture:  %s (%s)\n", c.Architecture, c.ModelType)
	fmt.Fprintf(w, "parameters:    %d (%s)\n", checkpoint.NumParams(c), humanCount(checkpoint.NumParams(c)))
	fmt.Fprintf(w, "dtype:         %s\n", c.TorchDType)
	fmt.Fprintf(w, "hidden:        %d, intermediate %d, layers %d\n", c.HiddenSize, c.IntermediateSize, c.NumHiddenLayers)
	fmt.Fprintf(w, "attention:     %d heads, %d key/value heads, head_dim %d, bias %v\n", c.NumAttentionHeads, c.NumKeyValueHeads, c.HeadDim, c.AttentionBias)
	rope := fmt.Sprintf("theta %g", c.RopeTheta)
	if r := c.RopeScaling; r != nil {
		rope += fmt.Sprintf(", %s scaling factor %g (low %g, high %g, original %d)", r.Type, r.Factor, r.LowFreqFactor, r.HighFreqFactor, r.OriginalMaxPositionEmbeddings)
	}
	fmt.Fprintf(w, "rope:          %s\n", rope)
	fmt.Fprintf(w, "vocab:         %d, tied embeddings %v, rms_norm_eps %g\n", c.VocabSize, c.TieWordEmbeddings, c.RMSNormEps)
	fmt.Fprintf(w, "bos/eos ids:   %d / %v\n", c.BOSTokenID, c.EOSTokenIDs)
	info, err := checkpoint.ReadTokenizerInfo(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		fmt.Fprintf(w, "tokenizer:     none (%v)\n", err)
	} else {
		template := "none"
		if info.ChatTemplate != "" {
			template = fmt.Sprintf("%d bytes", len(info.ChatTemplate))
			if info.ChatTemplate == checkpoint.ChatMLTemplate {
				template = "ChatML (refeval's)"
			}
		}
		fmt.Fprintf(w, "tokenizer:     %d ids, %d special tokens, eos %v, chat template %s\n", info.VocabSize, len(info.Special), info.EOSTokenIDs, template)
		if info.VocabSize > c.VocabSize {
			fmt.Fprintf(w, "warning:       the tokenizer has ids up to %d but the model only %d rows\n", info.VocabSize-1, c.VocabSize)
		}
	}
	fmt.Fprintf(w, "tensors:\n")
	shapes := checkpoint.Shapes(c)
	names := make([]string, 0, len(shapes))
	for n := range shapes {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return tensorOrder(names[i]) < tensorOrder(names[j]) })
	for _, n := range names {
		fmt.Fprintf(w, "  %-48s %v\n", n, shapes[n])
	}
	return nil
}

// tensorOrder sorts tensor names by layer number, then name.
func tensorOrder(name string) string {
	var layer int
	if _, err := fmt.Sscanf(name, "model.layers.%d.", &layer); err == nil {
		_, rest, _ := strings.Cut(strings.TrimPrefix(name, "model.layers."), ".")
		return fmt.Sprintf("1%06d%s", layer, rest)
	}
	if strings.HasPrefix(name, "model.embed") {
		return "0" + name
	}
	return "2" + name
}

func humanCount(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2fB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1fk", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}
