package stages

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/refeval/refeval/llm/chat"
	"github.com/refeval/refeval/llm/tokenizer"
)

// loadHubChatText loads one of the real tokenizers under models/tokenizers
// with its chat template.
func loadHubChatText(t *testing.T, name string) *chatText {
	t.Helper()
	tok, tmpl := loadHubTokenizer(t, name)
	ct, err := newChatText(tok, tmpl, filepath.Join("..", "models", "tokenizers", name))
	if err != nil {
		t.Fatal(err)
	}
	return ct
}

// loadHubTokenizer loads one of the real tokenizers under
// models/tokenizers and its chat template.
func loadHubTokenizer(t *testing.T, name string) (*tokenizer.Tokenizer, *chat.Template) {
	t.Helper()
	dir := filepath.Join("..", "models", "tokenizers", name)
	tok, err := tokenizer.Load(filepath.Join(dir, "tokenizer.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := chat.LoadTemplate(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	return tok, tmpl
}

// TestConversationIDs checks the response ids against what RLRR's
// data_utils masks in: the rendered conversation's ids after the prompt's,
// without ChatML's trailing "\n" (Qwen: input_ids[:-1]) and, for Llama-3's
// template, which trims the content, the trimmed text's ids.
func TestConversationIDs(t *testing.T) {
	const prompt, response = "What is the capital of France?", "  The capital is Paris. \n"
	tests := []struct {
		name, tokenizer, eot string
		want                 string // text whose ids, then eot, are the response
	}{
		{"qwen2.5", "qwen2_5", "<|im_end|>", response},
		{"llama3.2 trims", "llama3_2", "<|eot_id|>", strings.TrimSpace(response)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ct := loadHubChatText(t, tt.tokenizer)
			eot, _ := ct.tok.TokenID(tt.eot)
			p, r, err := ct.conversationIDs(prompt, response, 0)
			if err != nil {
				t.Fatal(err)
			}
			wantPrompt, err := ct.promptIDs(prompt)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p, wantPrompt) {
				t.Errorf("wrong prompt ids\ngot:  %v\nwant: %v", p, wantPrompt)
			}
			want := append(ct.tok.Encode(tt.want), eot)
			if !slices.Equal(r, want) {
				t.Errorf("wrong response ids\ngot:  %v\nwant: %v", r, want)
			}
			// The whole conversation's ids start with prompt + response.
			s, err := ct.tmpl.Render([]chat.Message{{Role: "user", Content: prompt}, {Role: "assistant", Content: response}}, false)
			if err != nil {
				t.Fatal(err)
			}
			full := ct.tok.Encode(s)
			if got := append(append([]int(nil), p...), r...); !slices.Equal(got, full[:len(got)]) {
				t.Errorf("prompt + response is not a prefix of the conversation's ids\ngot:  %v\nwant: %v", got, full)
			}
			n, err := ct.conversationLength(prompt, response)
			if err != nil {
				t.Fatal(err)
			}
			if want := len(ct.tok.Encode(strings.TrimSpace(s))); n != want {
				t.Errorf("wrong length\ngot:  %d\nwant: %d", n, want)
			}

			// max_len truncates prompt + response together.
			p2, r2, err := ct.conversationIDs(prompt, response, len(p)+2)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(p2, p) || !slices.Equal(r2, r[:2]) {
				t.Errorf("wrong truncation\ngot:  %v + %v\nwant: %v + %v", p2, r2, p, r[:2])
			}
			// A prompt that fills max_len leaves no response token: an
			// error that says the prompt's whole length.
			for _, maxLen := range []int{len(p) - 1, len(p)} {
				_, _, err = ct.conversationIDs(prompt, response, maxLen)
				want := fmt.Sprintf("the prompt alone has %d tokens, so max_len = %d leaves", len(p), maxLen)
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("wrong error for max_len %d\ngot:  %v\nwant: …%s…", maxLen, err, want)
				}
			}
		})
	}
}
