package stages

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/refeval/refeval/llm/chat"
	"github.com/refeval/refeval/llm/tokenizer"
)

// chatText turns prompts and responses into a model's token ids, the one
// way every model stage does it: the prompt is the user turn rendered by the
// model's chat template with the generation prompt opened; the response is
// what the rendered two-turn conversation holds after the prompt, up to its
// end-of-turn token (conversationIDs). sample, logprobs, sft,
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
	ct, err := loadChatTextFrom(filepath.Join(dir, "tokenizer.json"), filepath.Join(dir, "tokenizer_config.json"))
	if err != nil {
		return nil, fmt.Errorf("loading model %s: %w", dir, err)
	}
	return ct, nil
}

// loadChatTextFrom reads a tokenizer.json and a tokenizer_config.json (the
// ChatML template when the latter does not exist).
func loadChatTextFrom(tokenizerPath, configPath string) (*chatText, error) {
	tok, err := tokenizer.Load(tokenizerPath)
	if err != nil {
		return nil, err
	}
	tmpl, err := chat.LoadTemplate(configPath)
	if errors.Is(err, os.ErrNotExist) {
		tmpl, err = chat.ChatML(), nil
	}
	if err != nil {
		return nil, err
	}
	return newChatText(tok, tmpl, tokenizerPath)
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

// conversationIDs tokenizes prompt and response the way RLRR's data_utils
// does: the prompt ids are the user turn with the generation prompt opened;
// the response ids are what the whole two-turn conversation, rendered
// without a generation prompt, holds after the prompt's length, up to and
// including the last end-of-turn token. So a template that trims the
// content (Llama-3's `| trim`) gives the trimmed text's ids, and ChatML's
// "\n" after <|im_end|> is not trained on (RLRR's Qwen path drops it with
// input_ids[:-1]). maxLen > 0 truncates prompt + response to that many
// tokens, as the tokenizer's max_length truncation does there; a prompt
// that leaves no response token is an error, which says its length.
func (c *chatText) conversationIDs(prompt, response string, maxLen int) (promptIDs, responseIDs []int, err error) {
	promptIDs, err = c.promptIDs(prompt)
	if err != nil {
		return nil, nil, err
	}
	s, err := c.tmpl.Render([]chat.Message{{Role: "user", Content: prompt}, {Role: "assistant", Content: response}}, false)
	if err != nil {
		return nil, nil, fmt.Errorf("rendering the chat template: %w", err)
	}
	full := c.tok.Encode(s)
	end := len(full)
	for end > len(promptIDs) && full[end-1] != c.eot {
		end--
	}
	if end <= len(promptIDs) {
		return nil, nil, fmt.Errorf("the chat template renders the response to %.40q with no end-of-turn token after the prompt; the model's tokenizer_config.json chat_template must close the assistant turn", prompt)
	}
	responseIDs = full[len(promptIDs):end]
	if maxLen > 0 {
		if len(promptIDs) >= maxLen {
			return nil, nil, &promptTooLongError{len(promptIDs), maxLen}
		}
		responseIDs = responseIDs[:min(len(responseIDs), maxLen-len(promptIDs))]
	}
	return promptIDs, responseIDs, nil
}

// conversationLength returns the length in tokens of the two-turn
// conversation (prompt, response) rendered without a generation prompt and
// stripped of surrounding white space: the length RLRR's data_processing
// compares with max_len.
func (c *chatText) conversationLength(prompt, response string) (int, error) {
	s, err := c.tmpl.Render([]chat.Message{{Role: "user", Content: prompt}, {Role: "assistant", Content: response}}, false)
	if err != nil {
		return 0, fmt.Errorf("rendering the chat template: %w", err)
	}
	return len(c.tok.Encode(strings.TrimSpace(s))), nil
}

// A promptTooLongError is a prompt that leaves no response token within
// max_len.
type promptTooLongError struct{ promptLen, maxLen int }

func (e *promptTooLongError) Error() string {
	return fmt.Sprintf("the prompt alone has %d tokens, so max_len = %d leaves no response token; raise max_len above %d", e.promptLen, e.maxLen, e.promptLen)
}

// pairIDs tokenizes a preference pair: the prompt, and the chosen and
// rejected responses (the last message of each conversation), each
// truncated with the prompt to maxLen tokens (0: no limit).
func (c *chatText) pairIDs(p Pair, maxLen int) (prompt, chosen, rejected []int, err error) {
	if len(p.Chosen) == 0 || len(p.Rejected) == 0 {
		return nil, nil, nil, fmt.Errorf("pair for prompt %.40q has an empty conversation", p.Prompt)
	}
	prompt, chosen, err = c.conversationIDs(p.Prompt, p.Chosen[len(p.Chosen)-1].Content, maxLen)
	if err != nil {
		return nil, nil, nil, err
	}
	_, rejected, err = c.conversationIDs(p.Prompt, p.Rejected[len(p.Rejected)-1].Content, maxLen)
	if err != nil {
		return nil, nil, nil, err
	}
	return prompt, chosen, rejected, nil
}

// text decodes generated ids, dropping special tokens (the end of turn).
func (c *chatText) text(ids []int) string {
	return c.tok.Decode(ids, true)
}
