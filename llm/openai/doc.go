// Package openai holds the client refeval uses to drive OpenAI-compatible
// chat-completion servers (vLLM, SGLang, hosted frontier models): the model
// block's endpoint settings and their check (Config, Config.Validate; the HCL
// decoding is the stages package's, since llm knows no pipeline), the
// request and answer types (ChatRequest, ChatResponse), the client itself
// (bounded concurrency, retries with backoff, Retry-After, per-request
// timeouts, a per-item memo, token-usage counters, redaction of credentials),
// and the judge-label reading that turns an answer into p(a) (JudgeLabels).
//
// It leaves to others: deciding which stage kinds use a remote model and what
// they write (package stages), the memo's storage (package cache, through the
// engine.Memo interface), prompt templates (package prompts and llm/chat), and
// the in-process judge that reads logits from a local checkpoint (package llm).
package openai
