package openai

import (
	"encoding/json"
	"fmt"
	"sort"
)

// ChatResponse is a chat-completion answer, reduced to the fields refeval
// reads. It is also the form stored in the memo.
type ChatResponse struct {
	ID      string   `json:"id,omitempty"`
	Model   string   `json:"model,omitempty"` // the model the server says answered
	Choices []Choice `json:"choices"`         // sorted by Index, exactly N of them
	Usage   Usage    `json:"usage"`
}

// A Choice is one of the N answers.
type Choice struct {
	Index        int       `json:"index"`
	Message      Message   `json:"message"`
	FinishReason string    `json:"finish_reason,omitempty"` // "stop", "length", …
	Logprobs     *Logprobs `json:"logprobs,omitempty"`      // nil when not asked for or not given
}

// Logprobs holds the log-probs of a choice's generated tokens, in order.
type Logprobs struct {
	Content []TokenLogprob `json:"content"`
}

// TokenLogprob is one generated token, its log-prob and the top
// alternatives at its position (the token itself usually among them).
type TokenLogprob struct {
	Token       string       `json:"token"`
	Logprob     float64      `json:"logprob"`
	Bytes       []int        `json:"bytes,omitempty"`
	TopLogprobs []TopLogprob `json:"top_logprobs,omitempty"`
}

// TopLogprob is one alternative at a position.
type TopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes,omitempty"`
}

// Usage counts the tokens one request cost.
type Usage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
}

// decodeResponse parses and checks an answer that asked for n choices.
// Its errors describe the answer, not the request.
func decodeResponse(data []byte, n int) (*ChatResponse, error) {
	var r ChatResponse
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("answer is not a chat completion (malformed JSON: %v): %s", err, snippet(data))
	}
	if len(r.Choices) == 0 {
		return nil, fmt.Errorf("answer has no choices: %s", snippet(data))
	}
	if len(r.Choices) != n {
		return nil, fmt.Errorf("answer has %d choices, want n = %d; the server may not support n > 1 (check its version and settings)", len(r.Choices), n)
	}
	sort.SliceStable(r.Choices, func(i, j int) bool { return r.Choices[i].Index < r.Choices[j].Index })
	for i, ch := range r.Choices {
		if ch.Index != i {
			return nil, fmt.Errorf("answer's choice indexes are not 0 to %d (found index %d)", n-1, ch.Index)
		}
	}
	if r.Usage.PromptTokens < 0 || r.Usage.CompletionTokens < 0 {
		return nil, fmt.Errorf("answer reports negative token usage")
	}
	return &r, nil
}

// snippet returns the start of a body for an error message.
func snippet(data []byte) string {
	const max = 200
	if len(data) > max {
		return fmt.Sprintf("%q…", data[:max])
	}
	return fmt.Sprintf("%q", data)
}
