package stages

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/refeval/refeval/llm/chat"
	"github.com/refeval/refeval/llm/tokenizer"
)

// chatText turns prompts and responses into a model's token ids, the one
// way every model stage does it: the prompt is the user turn rendered by the
// model's chat template with the generation prompt opened; the response is
// its text's ids followed by the end-of-turn token. sample, logprobs, sft,
// dpo and eval all go through it, so the reference log-probs the logprobs
// stage computes are over exactly the tokens DPO trains on.
type chatText struct {
	tok  *tokenizer.Tokenizer
	tmpl *chat.Template
	eot  int // the end-of-turn token ending every response
}

// endOfTurnTokens are tried in order for the token that ends an assistant
// turn: ChatML's (Qwen), Llama-3's, Phi-3's.
var endOfTurnTokens = []string{"<|im_end|>", "<|eot_id|>", "<|end|>"}

func newChatText(tok *tokenizer.Tokenizer, tmpl *chat.Template, where string) (*chatText, error) {
	c := &chatText{tok: tok, tmpl: tmpl, eot: -1}
	for _, s := range append(endOfTurnTokens, tmpl.EOS()) {
		if id, ok := tok.TokenID(s); ok && s != "" {
			c.eot = id
			break
		}
	}
	if c.eot < 0 {
		return nil, fmt.Errorf("%s: the tokenizer has no end-of-turn token (tried %v and the template's eos_token); give the model a tokenizer_config.json with eos_token", where, endOfTurnTokens)
	}
	return c, nil
}

// loadChatText reads dir/tokenizer.json and dir/tokenizer_config.json (the
// ChatML template when there is none), as llm.Load does.
func loadChatText(dir string) (*chatText, error) {
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return nil, fmt.Errorf("loading model %s: %w", dir, err)
	}
	tmpl, err := chat.LoadTemplate(filepath.Join(dir, "tokenizer_config.json"))
	if errors.Is(err, os.ErrNotExist) {
		tmpl, err = chat.ChatML(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("loading model %s: %w", dir, err)
	}
	return newChatText(tok, tmpl, dir)
}

// promptIDs returns the ids of prompt as the user turn, with the
// assistant turn opened.
func (c *chatText) promptIDs(prompt string) ([]int, error) {
	s, err := c.tmpl.Render([]chat.Message{{Role: "user", Content: prompt}}, true)
	if err != nil {
		return nil, fmt.Errorf("rendering the chat template: %w", err)
	}
	return c.tok.Encode(s), nil
}

// responseIDs returns the ids of a response followed by the end-of-turn token.
func (c *chatText) responseIDs(response string) []int {
	return append(c.tok.Encode(response), c.eot)
}

// pairIDs tokenizes a preference pair: the prompt, and the chosen and
// rejected responses (the last message of each conversation).
func (c *chatText) pairIDs(p Pair) (prompt, chosen, rejected []int, err error) {
	if len(p.Chosen) == 0 || len(p.Rejected) == 0 {
		return nil, nil, nil, fmt.Errorf("pair for prompt %.40q has an empty conversation", p.Prompt)
	}
	prompt, err = c.promptIDs(p.Prompt)
	if err != nil {
		return nil, nil, nil, err
	}
	return prompt, c.responseIDs(p.Chosen[len(p.Chosen)-1].Content), c.responseIDs(p.Rejected[len(p.Rejected)-1].Content), nil
}

// text decodes generated ids, dropping special tokens (the end of turn).
func (c *chatText) text(ids []int) string {
	return c.tok.Decode(ids, true)
}
