package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/refeval/refeval/llm/chat"
)

var cmdTemplate = &Command{
	UsageLine: "template [--tokenizer-config FILE]",
	Short:     "render conversations with a model's chat template",
	Long: `
Template reads one JSON object per line on standard input,
{"messages": [{"role": ..., "content": ...}, ...], "add_generation_prompt": true},
and prints, for each, the rendered prompt as one JSON string per line. An
optional "chat_template_kwargs" object passes more variables to the template, as
vLLM's field of that name does: {"enable_thinking": false} for Qwen3.

The --tokenizer-config flag names a Hugging Face tokenizer_config.json; its
chat_template is rendered the way transformers.js (@huggingface/jinja) renders it,
with its bos_token and eos_token. Without the flag, or for a file that has no
chat_template, the built-in ChatML template is used:
"<|im_start|>role\ncontent<|im_end|>\n" per message, and "<|im_start|>assistant\n"
as the generation prompt.

Templates see the date 26 Jul 2024 (date_string, strftime_now), so that a
rendering does not change from one day to the next.
`,
}

var templateConfig = cmdTemplate.Flag.String("tokenizer-config", "", "tokenizer_config.json file (default: built-in ChatML)")

func init() {
	cmdTemplate.Run = runTemplate
	register(cmdTemplate)
}

func runTemplate(ctx context.Context, cmd *Command, args []string) error {
	if len(args) > 0 {
		return usageErrorf("unexpected arguments %q: the conversations come on standard input", args)
	}
	tmpl := chat.ChatML()
	if *templateConfig != "" {
		var err error
		if tmpl, err = chat.LoadTemplate(*templateConfig); err != nil {
			return err
		}
	}
	return templateLines(ctx, tmpl, os.Stdin, os.Stdout)
}

// templateLine is one line of input.
type templateLine struct {
	Messages            *[]chat.Message `json:"messages"`
	AddGenerationPrompt bool            `json:"add_generation_prompt"`
	Kwargs              map[string]any  `json:"chat_template_kwargs"`
}

// templateLines renders each conversation read from r as a JSON string line on w.
func templateLines(ctx context.Context, tmpl *chat.Template, r io.Reader, w io.Writer) error {
	return jsonLines(ctx, r, w, func(line int, text []byte) (any, error) {
		if len(bytes.TrimSpace(text)) == 0 {
			return nil, fmt.Errorf("stdin:%d: empty line: want a JSON object {\"messages\": [...], \"add_generation_prompt\": true|false}", line)
		}
		var in templateLine
		dec := json.NewDecoder(bytes.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return nil, fmt.Errorf("stdin:%d: want a JSON object {\"messages\": [{\"role\": ..., \"content\": ...}], \"add_generation_prompt\": true|false}: %v", line, err)
		}
		if in.Messages == nil {
			return nil, fmt.Errorf("stdin:%d: no \"messages\" list", line)
		}
		s, err := tmpl.RenderVars(*in.Messages, in.AddGenerationPrompt, in.Kwargs)
		if err != nil {
			return nil, fmt.Errorf("stdin:%d: %w", line, err)
		}
		return s, nil
	})
}
