package stages

import (
	"context"
	"path/filepath"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/refeval/refeval/engine"
)

// The reference kind writes reference answers for a prompt file with a
// model: an OpenAI-compatible endpoint (a frontier model, as in the paper)
// or a local checkpoint.
//
//	stage "reference" "train" {
//	  model       = model.teacher               # required (see ModelRef)
//	  prompts     = "data/train.prompts.jsonl"  # required
//	  temperature = 0                           # 0: greedy
//	  top_p       = 1
//	  max_tokens  = 512
//	  seed        = 0
//	  limit       = 0
//	  batch       = 8
//	}
//
// It writes references.jsonl: one TextLine per prompt, in prompt order, the
// format the score, sft and eval kinds read, and, when the model is an
// endpoint, metrics.json (GenMetrics: its token usage). Answers are
// memoized per prompt.

// ReferenceVersion is the reference kind's implementation version.
const ReferenceVersion = "3"

// ReferencesFile is the reference kind's output.
const ReferencesFile = "references.jsonl"

func init() {
	Register(&engine.Kind{Name: "reference", Version: ReferenceVersion, Schema: referenceSchema, Decode: decodeReference,
		Env: backendEnv, NonDeterministic: true})
}

var referenceSchema = genSchema(hcl.AttributeSchema{Name: "model", Required: true})

type referenceStage struct {
	model   ModelRef
	prompts string
	gen     genSettings
	limit   int
	batch   int
}

func decodeReference(body hcl.Body, ectx *hcl.EvalContext) (engine.Stage, hcl.Diagnostics) {
	a := newAttrs(body, referenceSchema, ectx)
	s := &referenceStage{gen: genSettings{N: 1, TopP: 1, MaxTokens: DefaultMaxTokens}, batch: 8}
	a.model("model", &s.model, false)
	decodeGen(a, &s.prompts, &s.gen, &s.limit, &s.batch, s.model)
	return s, a.diags
}

func (s *referenceStage) Inputs() []string { return append(s.model.Inputs(), s.prompts) }

func (s *referenceStage) Run(ctx context.Context, rc *engine.RunContext) error {
	prompts, err := readPrompts(rc.Dir, s.prompts, s.limit)
	if err != nil {
		return err
	}
	start := time.Now()
	texts, hits, u, err := generateAll(ctx, rc, s.model, "reference", prompts, s.gen, s.batch, s.batch)
	if err != nil {
		return err
	}
	out := make([]TextLine, len(prompts))
	for i := range prompts {
		out[i] = TextLine{Text: texts[i][0]}
	}
	if err := WriteJSONL(filepath.Join(rc.Out, ReferencesFile), out); err != nil {
		return err
	}
	logf(rc, "reference: %d answers by %s (%d from the memo) in %v\n", len(prompts), s.model, hits, time.Since(start).Round(time.Millisecond))
	return writeGenMetrics(rc, "reference", GenMetrics{Prompts: len(prompts), N: 1, MemoHits: hits, Usage: u})
}
