package stages

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/llm"
)

// The logprobs kind scores every pair once with the reference model, for
// all the DPO runs downstream.
//
//	stage "logprobs" "ref" {
//	  model = stage.sft.distill   # required: the reference model (a local checkpoint)
//	  pairs = stage.pairs.train   # required: folder holding pairs.jsonl
//	  batch = 8                   # sequences per forward pass
//	  max_len = 2048              # prompt + response truncated to this many tokens, as the dpo kind's max_len
//	}
//
// It writes logprobs.jsonl: each pair with chosen_logprob and
// rejected_logprob, the summed log-probs of the response tokens (the
// response, then the end-of-turn token) after the chat-templated prompt,
// tokenized exactly as the dpo kind tokenizes them (chatText.pairIDs); give
// both the same max_len (both default to RLRR's 2048).

// LogprobsVersion is the logprobs kind's implementation version.
//
// 2: response tokens are those of the rendered conversation after the
// prompt; sequences truncated to max_len.
const LogprobsVersion = "2"

func init() {
	Register(&engine.Kind{Name: "logprobs", Version: LogprobsVersion, Schema: logprobsSchema, Decode: decodeLogprobs, Env: backendEnv})
}

var logprobsSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "model", Required: true},
	{Name: "pairs", Required: true},
	{Name: "batch"},
	{Name: "max_len"},
}}

type logprobsStage struct {
	model  ModelRef
	pairs  string
	batch  int
	maxLen int
}

func decodeLogprobs(body hcl.Body, ectx *hcl.EvalContext) (engine.Stage, hcl.Diagnostics) {
	a := newAttrs(body, logprobsSchema, ectx)
	s := &logprobsStage{batch: 8, maxLen: DefaultSeqLen}
	a.localModel("model", &s.model, "The logprobs kind needs a local checkpoint: an endpoint does not give the log-probs of given responses.")
	a.path("pairs", &s.pairs, "the output folder of a pairs stage, such as stage.pairs.train")
	a.integer("batch", &s.batch, 1, 4096)
	a.integer("max_len", &s.maxLen, 0, 1<<30)
	return s, a.diags
}

func (s *logprobsStage) Inputs() []string { return append(s.model.Inputs(), s.pairs) }

// readPairs reads pairs.jsonl from a pairs stage's folder.
func readPairs(dir, folder string) ([]Pair, error) {
	pairs, err := ReadJSONL[Pair](filepath.Join(resolve(dir, folder), PairsFile))
	if err != nil {
		return nil, fmt.Errorf("reading pairs: %w", err)
	}
	return pairs, nil
}

// pairLogprobs returns the summed response log-probs of chosen and rejected
// for each pair under m; first is the line number of pairs[0] less one, for
// errors.
func pairLogprobs(ctx context.Context, m *llm.Model, ct *chatText, pairs []Pair, first, maxLen int) (chosen, rejected []float64, err error) {
	seqs := make([]llm.Sequence, 0, 2*len(pairs))
	for i, p := range pairs {
		prompt, c, r, err := ct.pairIDs(p, maxLen)
		if err != nil {
			return nil, nil, fmt.Errorf("%s line %d: %w", PairsFile, first+i+1, err)
		}
		seqs = append(seqs,
			llm.Sequence{Tokens: append(append([]int(nil), prompt...), c...), PromptLen: len(prompt)},
			llm.Sequence{Tokens: append(append([]int(nil), prompt...), r...), PromptLen: len(prompt)})
	}
	res, err := m.SequenceLogProbs(ctx, seqs)
	if err != nil {
		return nil, nil, err
	}
	for i := range pairs {
		chosen = append(chosen, res[2*i].Sum)
		rejected = append(rejected, res[2*i+1].Sum)
	}
	return chosen, rejected, nil
}

func (s *logprobsStage) Run(ctx context.Context, rc *engine.RunContext) error {
	pairs, err := readPairs(rc.Dir, s.pairs)
	if err != nil {
		return err
	}
	m, err := loadLocalOn(rc, s.model, s.batch, 0)
	if err != nil {
		return err
	}
	defer m.Close()
	ct, err := newChatText(m.Tokenizer(), m.Template(), s.model.Path)
	if err != nil {
		return err
	}
	start := time.Now()
	out := make([]LogprobPair, 0, len(pairs))
	step := max(1, s.batch/2)
	for first := 0; first < len(pairs); first += step {
		chunk := pairs[first:min(first+step, len(pairs))]
		c, r, err := pairLogprobs(ctx, m, ct, chunk, first, s.maxLen)
		if err != nil {
			return err
		}
		for i, p := range chunk {
			out = append(out, LogprobPair{Pair: p, ChosenLogprob: c[i], RejectedLogprob: r[i]})
		}
		progress(rc, int64(len(out)), int64(len(pairs)))
	}
	if err := WriteJSONL(filepath.Join(rc.Out, LogprobsFile), out); err != nil {
		return err
	}
	logf(rc, "logprobs: %d pairs scored by %s in %v\n", len(pairs), s.model, time.Since(start).Round(time.Millisecond))
	return nil
}
