package stages

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/llm/openai"
)

// The endpoint backend: an OpenAI-compatible server (llm/openai).

// endpoint is what the endpoint judge and generator share: the client, and
// through it the usage.
type endpoint struct {
	client *openai.Client
	name   string // modelID
}

func openEndpoint(rc *engine.RunContext, r ModelRef) (endpoint, error) {
	c, err := newClient(rc, r)
	if err != nil {
		return endpoint{}, err
	}
	id, _ := modelID(rc, r, nil)
	return endpoint{client: c, name: id}, nil
}

func (e endpoint) id() string     { return e.name }
func (e endpoint) remote() bool   { return true }
func (e endpoint) truncated() int { return 0 }
func (e endpoint) close()         {}

// usage is the client's token usage, requests and memo hits.
func (e endpoint) usage() *EndpointUsage {
	s := e.client.Stats()
	return &EndpointUsage{PromptTokens: s.PromptTokens, CompletionTokens: s.CompletionTokens,
		Requests: s.Requests, Retries: s.Retries, MemoHits: s.MemoHits}
}

// endpointGenerator answers prompts through the endpoint's chat API.
type endpointGenerator struct{ endpoint }

func openEndpointGenerator(rc *engine.RunContext, r ModelRef) (*endpointGenerator, error) {
	e, err := openEndpoint(rc, r)
	if err != nil {
		return nil, err
	}
	return &endpointGenerator{e}, nil
}

// generate asks the endpoint for each prompt through ChatAll, which keeps
// the model's max_concurrency requests in flight. top_k, which the OpenAI
// API lacks, goes as vLLM's extra field when it is set.
func (g *endpointGenerator) generate(ctx context.Context, prompts []string, lines []int, s genSettings, onDone func(int)) ([][]string, error) {
	items := make([]string, len(prompts))
	reqs := make([]openai.ChatRequest, len(prompts))
	for i, p := range prompts {
		reqs[i] = remoteRequest(p, s)
		items[i] = fmt.Sprintf("prompt line %d", lines[i])
	}
	resps, err := g.client.ChatAll(ctx, items, reqs, onDone)
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(prompts))
	for i, resp := range resps {
		for _, c := range resp.Choices {
			out[i] = append(out[i], c.Message.Content)
		}
	}
	return out, nil
}

// remoteRequest is the chat request answering prompt with settings s.
func remoteRequest(prompt string, s genSettings) openai.ChatRequest {
	temp, seed := s.Temperature, int64(s.Seed)
	req := openai.ChatRequest{
		Messages:    []openai.Message{{Role: "user", Content: prompt}},
		N:           s.N,
		Temperature: &temp,
		MaxTokens:   s.MaxTokens,
		Seed:        &seed,
	}
	if topP := s.TopP; topP > 0 {
		req.TopP = &topP
	}
	if s.TopK > 0 {
		req.Extra = map[string]any{"top_k": s.TopK}
	}
	return req
}

// endpointJudge asks the endpoint for verdicts.
type endpointJudge struct {
	endpoint
	judgeSettings
}

func openEndpointJudge(rc *engine.RunContext, r ModelRef, s judgeSettings) (*endpointJudge, error) {
	e, err := openEndpoint(rc, r)
	if err != nil {
		return nil, err
	}
	return &endpointJudge{e, s}, nil
}

// judge asks the endpoint for each task's verdict through ChatAll: the
// judge template's messages, slots filled, in an openai.JudgeRequest with
// top alternatives, prefilled with "Output (" in the logprobs mode (the
// server renders them with its chat template); openai.JudgeLabels reads
// the labels.
func (j *endpointJudge) judge(ctx context.Context, tasks []judgeTask, onDone func(int)) ([]labelVerdict, error) {
	items := make([]string, len(tasks))
	reqs := make([]openai.ChatRequest, len(tasks))
	for i, t := range tasks {
		msgs, err := j.tmpl.Fill(t.Prompt, t.Reference, t.A, t.B)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.what(), err)
		}
		items[i] = t.what()
		reqs[i] = openai.JudgeRequest(openaiMessages(msgs), j.mode == JudgeLogprobs, j.top)
	}
	resps, err := j.client.ChatAll(ctx, items, reqs, onDone)
	if err != nil {
		if j.mode == JudgeLogprobs && errors.Is(err, openai.ErrRejected) {
			err = fmt.Errorf("%w (the logprobs mode asks the server to continue an assistant turn \"Output (\", which vLLM and SGLang accept; for other servers set mode = \"generate\")", err)
		}
		return nil, err
	}
	out := make([]labelVerdict, len(tasks))
	for i, resp := range resps {
		if j.mode == JudgeLogprobs && len(resp.Choices) > 0 {
			// The answer continues the prefilled "Output (" by one token:
			// read the text whole, closed, so that "a" is "Output (a)".
			c := *resp
			c.Choices = slices.Clone(resp.Choices)
			text := openai.JudgePrefill + c.Choices[0].Message.Content
			if !strings.Contains(text, ")") {
				text += ")"
			}
			c.Choices[0].Message.Content = text
			resp = &c
		}
		v, err := openai.JudgeLabels(resp, 0)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", items[i], err)
		}
		if v.FromText {
			out[i].FromText = true
			// p(a) from the text: a → 1, b → 0, else 0.5, as label log-probs.
			z := 0.0
			switch v.PA {
			case 1:
				out[i].A = &z
			case 0:
				out[i].B = &z
			default:
				out[i].A, out[i].B = &z, &z
			}
			continue
		}
		out[i] = labelVerdict{A: v.LogprobA, B: v.LogprobB}
	}
	return out, nil
}
