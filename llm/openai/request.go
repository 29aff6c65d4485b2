package openai

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// A Message is one turn of a chat.
type Message struct {
	Role    string `json:"role"`    // "system", "user" or "assistant"
	Content string `json:"content"` // the turn's text
}

// ChatRequest is one chat completion to ask for. Nil pointers and zero
// values are left out of the request, so the server's defaults apply.
type ChatRequest struct {
	Messages    []Message // the conversation; the model answers the last turn
	N           int       // number of choices; 0 means 1
	Temperature *float64  // sampling temperature
	TopP        *float64  // nucleus sampling mass
	MaxTokens   int       // limit on generated tokens per choice; 0: the server's
	Seed        *int64    // sampling seed, for servers that honour it (vLLM does)
	Stop        []string  // stop strings
	Logprobs    bool      // ask for each generated token's log-prob
	TopLogprobs int       // with Logprobs, also the top-k alternatives (the judge uses 5)
	// Extra holds server-specific body fields, such as vLLM's
	// continue_final_message, add_generation_prompt, top_k or min_p. Its
	// keys must not repeat a field above. It is sent and hashed with the
	// rest of the body, keys sorted.
	Extra map[string]any
}

// wireRequest is the JSON body sent to /chat/completions. Its field order
// is fixed, so the same request always marshals to the same bytes, and
// those bytes are what the memo key hashes.
type wireRequest struct {
	Model       string    `json:"model"`
	Messages    []Message `json:"messages"`
	N           int       `json:"n,omitempty"`
	Temperature *float64  `json:"temperature,omitempty"`
	TopP        *float64  `json:"top_p,omitempty"`
	MaxTokens   int       `json:"max_tokens,omitempty"`
	Seed        *int64    `json:"seed,omitempty"`
	Stop        []string  `json:"stop,omitempty"`
	Logprobs    bool      `json:"logprobs,omitempty"`
	TopLogprobs int       `json:"top_logprobs,omitempty"`
}

// memoSalt versions the memo keys: change it when the meaning of a stored
// answer changes (what validate accepts, what ChatResponse keeps).
const memoSalt = "refeval openai chat v1"

// choices is the number of choices req asks for.
func (req *ChatRequest) choices() int {
	if req.N <= 0 {
		return 1
	}
	return req.N
}

// check reports a request the server would reject anyway.
func (req *ChatRequest) check() error {
	switch {
	case len(req.Messages) == 0:
		return fmt.Errorf("request has no messages")
	case req.N < 0:
		return fmt.Errorf("request asks for n = %d choices; n must be positive", req.N)
	case req.MaxTokens < 0:
		return fmt.Errorf("request has max_tokens = %d; it must be positive", req.MaxTokens)
	case req.TopLogprobs < 0 || req.TopLogprobs > 0 && !req.Logprobs:
		return fmt.Errorf("request has top_logprobs = %d; it needs logprobs = true and a positive count", req.TopLogprobs)
	}
	return nil
}

// wireFields lists the JSON names of wireRequest, which Extra must not
// repeat.
var wireFields = map[string]bool{
	"model": true, "messages": true, "n": true, "temperature": true, "top_p": true,
	"max_tokens": true, "seed": true, "stop": true, "logprobs": true, "top_logprobs": true,
}

// body returns the JSON request body for model name.
func (req *ChatRequest) body(name string) ([]byte, error) {
	w := wireRequest{
		Model:       name,
		Messages:    req.Messages,
		Temperature: req.Temperature,
		TopP:        req.TopP,
		MaxTokens:   req.MaxTokens,
		Seed:        req.Seed,
		Stop:        req.Stop,
		Logprobs:    req.Logprobs,
		TopLogprobs: req.TopLogprobs,
	}
	if req.N > 1 {
		w.N = req.N
	}
	data, err := json.Marshal(w)
	if err != nil || len(req.Extra) == 0 {
		return data, err
	}
	for k := range req.Extra {
		if wireFields[k] {
			return nil, fmt.Errorf("request's extra field %q repeats a standard field; set it through ChatRequest", k)
		}
	}
	extra, err := json.Marshal(req.Extra) // map keys come out sorted
	if err != nil {
		return nil, fmt.Errorf("request's extra fields: %w", err)
	}
	// Splice {"model":…} and {"k":…} into {"model":…,"k":…}.
	out := append(data[:len(data)-1:len(data)-1], ',')
	return append(out, extra[1:]...), nil
}

// memoKey hashes the model name and the full request body: the same
// question to the same model gets the same key whichever endpoint serves
// it, and no credential (URL user info, API key) enters it.
func memoKey(name string, body []byte) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\nmodel %q\nbody %d\n", memoSalt, name, len(body))
	h.Write(body)
	return "openai-chat-" + hex.EncodeToString(h.Sum(nil))
}

// MemoKey returns the memo key under which the client stores the answer to
// req: a hash of the model name and the request body. Stages can use it to
// tell which items are already answered.
func (c *Client) MemoKey(req ChatRequest) (string, error) {
	body, err := req.body(c.cfg.Name)
	if err != nil {
		return "", err
	}
	return memoKey(c.cfg.Name, body), nil
}
