package stages

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/llm/openai"
)

// The sample kind draws candidate answers from a policy.
//
//	stage "sample" "train" {
//	  model       = stage.sft.distill          # required: the policy (see ModelRef)
//	  prompts     = "data/train.prompts.jsonl" # required: PromptLine lines
//	  n           = 5                          # candidates per prompt
//	  temperature = 0.8
//	  top_p       = 0.95
//	  top_k       = 0                          # 0: all tokens
//	  max_tokens  = 512
//	  seed        = 0
//	  limit       = 0                          # first N prompts only; 0: all
//	  batch       = 8                          # rows per forward pass (prompts × n)
//	}
//
// It writes samples.jsonl (Sample lines, in prompt order) and, when the
// model is an endpoint, metrics.json (GenMetrics: its token usage). Every prompt's
// candidates are memoized (model digest, backend, settings, prompt), so an
// interrupted stage resumes and a grown prompt file samples only the new
// prompts. Prompts are dealt to one worker per granted device.

// SampleVersion is the sample kind's implementation version.
const SampleVersion = "3"

func init() {
	Register(&engine.Kind{Name: "sample", Version: SampleVersion, Schema: sampleSchema, Decode: decodeSample,
		NonDeterministic: true, Env: backendEnv})
}

var sampleSchema = genSchema(hcl.AttributeSchema{Name: "model", Required: true}, hcl.AttributeSchema{Name: "n"})

// genSchema is the schema of a generating kind: the attributes decodeGen
// reads (but n, which only sample takes) after the kind's own.
func genSchema(own ...hcl.AttributeSchema) *hcl.BodySchema {
	s := &hcl.BodySchema{Attributes: append(own, hcl.AttributeSchema{Name: "prompts", Required: true})}
	for _, n := range []string{"temperature", "top_p", "top_k", "max_tokens", "max_prompt_tokens", "seed", "limit", "batch"} {
		s.Attributes = append(s.Attributes, hcl.AttributeSchema{Name: n})
	}
	return s
}

// DefaultMaxTokens is the default max_tokens of the sample, eval and
// reference kinds.
const DefaultMaxTokens = 512

// DefaultMaxPromptTokens is the default max_prompt_tokens of the sample,
// eval and reference kinds with local models: a chat-templated prompt is
// cut to its first 2048 tokens, as the paper's sampling.py does
// (max_input_len=2048).
const DefaultMaxPromptTokens = 2048

type sampleStage struct {
	model   ModelRef
	prompts string
	gen     genSettings
	limit   int
	batch   int
}

// decodeGen reads the prompts, sampling, limit and batch attributes shared
// by sample, eval and reference (genSchema). models are the generating
// models (two for eval). An endpoint tokenizes on its server, so
// max_prompt_tokens cannot apply there and setting it is an error; so is
// top_k for a hosted API that takes no vLLM extensions.
func decodeGen(a *attrs, prompts *string, g *genSettings, limit, batch *int, models ...ModelRef) {
	remote := false
	for _, m := range models {
		remote = remote || m.Endpoint != nil
	}
	var seed int
	a.path("prompts", prompts, "a prompts file (JSON Lines of {\"prompt\": …})")
	a.integer("n", &g.N, 1, 1024)
	a.number("temperature", &g.Temperature, 0, 100)
	a.number("top_p", &g.TopP, 0, 1)
	a.integer("top_k", &g.TopK, 0, 1<<30)
	for _, m := range models {
		if m.Endpoint != nil && g.TopK > 0 && !openai.TakesExtensions(m.Endpoint.Endpoint) {
			a.errorf(a.content.Attributes["top_k"], "Invalid top_k",
				"%s is served by an API that takes no top_k (vLLM and SGLang do): remove top_k.", m)
			break
		}
	}
	a.integer("max_tokens", &g.MaxTokens, 1, 1<<20)
	switch {
	case remote && a.has("max_prompt_tokens"):
		a.errorf(a.content.Attributes["max_prompt_tokens"], "Invalid max_prompt_tokens",
			"An endpoint model tokenizes prompts on its server, so refeval cannot cut them: remove max_prompt_tokens, and bound prompts on the server (vLLM: --max-model-len).")
	case !remote:
		g.MaxPromptTokens = DefaultMaxPromptTokens
		a.integer("max_prompt_tokens", &g.MaxPromptTokens, 1, 1<<24)
	}
	a.integer("seed", &seed, 0, 1<<53)
	g.Seed = uint64(seed)
	a.integer("limit", limit, 0, 1<<30)
	a.integer("batch", batch, 1, 4096)
}

func decodeSample(body hcl.Body, ectx *hcl.EvalContext) (engine.Stage, hcl.Diagnostics) {
	a := newAttrs(body, sampleSchema, ectx)
	s := &sampleStage{gen: genSettings{N: 5, Temperature: 0.8, TopP: 0.95, MaxTokens: DefaultMaxTokens}, batch: 8}
	a.model("model", &s.model, false)
	decodeGen(a, &s.prompts, &s.gen, &s.limit, &s.batch, s.model)
	return s, a.diags
}

func (s *sampleStage) Inputs() []string { return append(s.model.Inputs(), s.prompts) }

// readPrompts reads a prompts file, keeping the first limit lines (all for 0).
func readPrompts(dir, path string, limit int) ([]string, error) {
	lines, err := ReadJSONL[PromptLine](resolve(dir, path))
	if err != nil {
		return nil, fmt.Errorf("reading prompts: %w", err)
	}
	if limit > 0 && limit < len(lines) {
		lines = lines[:limit]
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = l.Prompt
	}
	return out, nil
}

// readTexts reads a references file (or the references.jsonl of a
// reference stage's folder): n lines, one per prompt.
func readTexts(dir, path string, n int) ([]string, error) {
	full := resolve(dir, path)
	if fi, err := os.Stat(full); err == nil && fi.IsDir() {
		full = filepath.Join(full, ReferencesFile)
	}
	lines, err := ReadJSONL[TextLine](full)
	if err != nil {
		return nil, fmt.Errorf("reading references: %w", err)
	}
	if len(lines) < n {
		return nil, fmt.Errorf("%s has %d references for %d prompts; it needs one line per prompt, in prompt order", path, len(lines), n)
	}
	out := make([]string, n)
	for i := range out {
		out[i] = lines[i].Text
	}
	return out, nil
}

func (s *sampleStage) Run(ctx context.Context, rc *engine.RunContext) error {
	prompts, err := readPrompts(rc.Dir, s.prompts, s.limit)
	if err != nil {
		return err
	}
	start := time.Now()
	texts, hits, u, err := generateAll(ctx, rc, s.model, "sample", prompts, s.gen, s.batch, max(1, s.batch/s.gen.N))
	if err != nil {
		return err
	}
	out := make([]Sample, len(prompts))
	for i, p := range prompts {
		out[i] = Sample{Prompt: p}
		for _, t := range texts[i] {
			out[i].Candidates = append(out[i].Candidates, TextLine{Text: t})
		}
	}
	if err := WriteJSONL(filepath.Join(rc.Out, SamplesFile), out); err != nil {
		return err
	}
	logf(rc, "sample: %d prompts × %d candidates (%d prompts from the memo) in %v\n", len(prompts), s.gen.N, hits, time.Since(start).Round(time.Millisecond))
	return writeGenMetrics(rc, "sample", GenMetrics{Prompts: len(prompts), N: s.gen.N, MemoHits: hits, Usage: u})
}

// GenMetrics is the metrics.json of the sample and reference kinds, written
// when their model is an endpoint.
type GenMetrics struct {
	Prompts  int            `json:"prompts"`
	N        int            `json:"n"`         // answers per prompt
	MemoHits int            `json:"memo_hits"` // prompts whose answers came from the memo
	Usage    *EndpointUsage `json:"usage"`
}

// writeGenMetrics logs the endpoint usage and writes metrics.json; nothing
// for local models (no usage).
func writeGenMetrics(rc *engine.RunContext, kind string, m GenMetrics) error {
	if m.Usage == nil {
		return nil
	}
	logUsage(rc, kind, m.Usage)
	return writeMetrics(rc.Out, m)
}
