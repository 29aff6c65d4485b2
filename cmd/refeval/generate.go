package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/refeval/refeval/llm"
	"github.com/refeval/refeval/llm/chat"
)

var cmdGenerate = &Command{
	UsageLine: "generate --model DIR --prompt TEXT [--chat] [--greedy] [--max-tokens N] [--seed N] [--json]",
	Short:     "sample a continuation from a model",
	Long: `
Generate loads the Hugging Face checkpoint folder --model and samples a
continuation of --prompt on the GoMLX backend (pure Go unless GOMLX_BACKEND
names another, such as xla:/abs/path/pjrt_c_api_cuda_plugin.so).

With --chat the prompt is the user's message, wrapped in the model's chat
template with the generation prompt; otherwise it is raw text, tokenized with
the special tokens the tokenizer adds around a sequence (Llama-3's BOS).

Sampling uses --temperature, --top-p and --top-k, seeded by --seed: the same
seed gives the same output. --greedy takes the most likely token each step.
Generation stops at an end-of-sequence token of the model or after
--max-tokens tokens.

The output is the generated text; with --json it is one JSON object per
sample with the prompt and generated token ids, each generated token's
log-probability under the model (temperature 1), the text and the finish
reason ("eos" or "length").
`,
}

var (
	genModel       = cmdGenerate.Flag.String("model", "", "checkpoint folder")
	genPrompt      = cmdGenerate.Flag.String("prompt", "", "prompt text")
	genChat        = cmdGenerate.Flag.Bool("chat", false, "wrap the prompt in the model's chat template")
	genGreedy      = cmdGenerate.Flag.Bool("greedy", false, "always take the most likely token")
	genMaxTokens   = cmdGenerate.Flag.Int("max-tokens", 64, "most tokens to generate")
	genSeed        = cmdGenerate.Flag.Uint64("seed", 0, "sampling seed")
	genTemperature = cmdGenerate.Flag.Float64("temperature", 0.7, "softmax temperature")
	genTopP        = cmdGenerate.Flag.Float64("top-p", 0.95, "nucleus mass (1 = off)")
	genTopK        = cmdGenerate.Flag.Int("top-k", 0, "keep the K most likely tokens (0 = off)")
	genN           = cmdGenerate.Flag.Int("n", 1, "number of samples")
	genJSON        = cmdGenerate.Flag.Bool("json", false, "print token ids and log-probs as JSON")
	genBackend     = cmdGenerate.Flag.String("backend", "", "GoMLX backend (default $GOMLX_BACKEND, else go:ops_sequential)")
)

func init() {
	cmdGenerate.Run = runGenerate
	register(cmdGenerate)
}

func runGenerate(ctx context.Context, cmd *Command, args []string) error {
	if *genModel == "" {
		return usageErrorf("--model is required")
	}
	if len(args) > 0 {
		return usageErrorf("unexpected arguments %q", args)
	}
	if *genMaxTokens <= 0 || *genN <= 0 {
		return usageErrorf("--max-tokens and --n must be positive")
	}
	m, err := llm.Load(*genModel, llm.Options{Backend: *genBackend})
	if err != nil {
		return err
	}
	defer m.Close()
	return generate(ctx, m, os.Stdout)
}

// generateOutput is one sample as --json prints it.
type generateOutput struct {
	Prompt   []int     `json:"prompt"`
	Tokens   []int     `json:"tokens"`
	LogProbs []float32 `json:"logprobs"`
	Text     string    `json:"text"`
	Finish   string    `json:"finish"`
}

func generate(ctx context.Context, m *llm.Model, w io.Writer) error {
	tok := m.Tokenizer()
	var prompt []int
	if *genChat {
		var err error
		if prompt, err = m.ChatPrompt([]chat.Message{{Role: "user", Content: *genPrompt}}); err != nil {
			return err
		}
	} else {
		prompt = tok.EncodeWithSpecial(*genPrompt)
	}
	if len(prompt) == 0 {
		return usageErrorf("the prompt is empty; give --prompt TEXT (or --chat, which adds the template's tokens)")
	}
	gens, err := m.Generate(ctx, []llm.GenRequest{{Prompt: prompt, Item: "cli"}}, llm.SampleParams{
		N: *genN, MaxTokens: *genMaxTokens, Temperature: *genTemperature, TopP: *genTopP, TopK: *genTopK,
		Greedy: *genGreedy, Seed: *genSeed,
	})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, s := range gens[0].Samples {
		text := tok.Decode(s.Tokens, true)
		if *genJSON {
			if err := enc.Encode(generateOutput{Prompt: prompt, Tokens: s.Tokens, LogProbs: s.LogProbs, Text: text, Finish: s.Finish}); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintln(w, text)
	}
	return nil
}
