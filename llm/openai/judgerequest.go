package openai

import "slices"

// Judge request settings.
const (
	// JudgePrefill starts the judge's answer when the server can continue
	// a final assistant message; the next token is then the label, the
	// position the in-process judge reads.
	JudgePrefill = "Output ("
	// JudgeTopLogprobs is the number of alternatives asked for at each
	// position by default: 5, the paper's setting.
	JudgeTopLogprobs = 5
	// MaxTopLogprobs is the most alternatives an endpoint is asked for: the
	// OpenAI API's limit on top_logprobs, and vLLM's default --max-logprobs.
	MaxTopLogprobs = 20
	// judgeMaxTokens bounds an answer without prefill: "Output (a)" is
	// four tokens in the Qwen and Llama vocabularies, and a little slack
	// lets a judge that starts with a space or a newline still finish it.
	judgeMaxTokens = 16
)

// JudgeRequest returns the request for one judgement: greedy decoding,
// log-probs with top alternatives (JudgeTopLogprobs when top is 0). prompt
// is the judge template split into chat messages, its slots filled.
//
// With prefill, the request ends with an assistant turn holding
// JudgePrefill and asks the server to continue it (vLLM's and SGLang's
// continue_final_message, with add_generation_prompt off) for one token, so
// that the first generated token is the label, as in the in-process judge.
// Hosted APIs do not continue assistant turns: without prefill the judge
// writes its answer ("Output (a)") and JudgeLabels finds the label in it.
func JudgeRequest(prompt []Message, prefill bool, top int) ChatRequest {
	if top <= 0 {
		top = JudgeTopLogprobs
	}
	zero := 0.0
	req := ChatRequest{
		Messages:    prompt,
		Temperature: &zero,
		MaxTokens:   judgeMaxTokens,
		Logprobs:    true,
		TopLogprobs: top,
	}
	if prefill {
		req.Messages = append(slices.Clip(prompt), Message{Role: "assistant", Content: JudgePrefill})
		req.MaxTokens = 1
		req.Extra = map[string]any{"continue_final_message": true, "add_generation_prompt": false}
	}
	return req
}
