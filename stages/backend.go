package stages

import (
	"context"
	"fmt"

	"github.com/refeval/refeval/engine"
)

// Model backends. A ModelRef names a model; the judge and generator values
// below are what a stage runs it through. openJudgeBackend and
// openGenerators are the one place that switches on the kind of reference:
// a new backend is one file holding its judge and/or generator plus one case
// in each switch. Memoization wraps any backend (judge.judgeAll,
// memoGenerate), and a stage sums the usage of the backends it opened.

// A modelBackend is what every model backend has.
type modelBackend interface {
	// id changes whenever the backend's answers may; it enters memo keys.
	id() string
	// remote says whether answers come from a server that keeps its own
	// requests in flight (and memoizes each answer, so an interrupted stage
	// resumes): such a backend takes all of a stage's work in one call.
	remote() bool
	// usage is what the backend cost so far; nil when it costs nothing
	// countable (not an endpoint).
	usage() *EndpointUsage
	// truncated counts the prompts cut to the stage's token limit.
	truncated() int
	close()
}

// A judgeBackend gives label verdicts for judge tasks. onDone, when not
// nil, is told how many of tasks are done (remote backends only).
type judgeBackend interface {
	modelBackend
	judge(ctx context.Context, tasks []judgeTask, onDone func(done int)) ([]labelVerdict, error)
}

// A generatorBackend answers prompts with s.N texts each. lines are the
// prompts' line numbers in their file, for errors.
type generatorBackend interface {
	modelBackend
	generate(ctx context.Context, prompts []string, lines []int, s genSettings, onDone func(done int)) ([][]string, error)
}

// judgeSettings are what every judge backend is opened with.
type judgeSettings struct {
	mode  string         // JudgeLogprobs or JudgeGenerate
	tmpl  *JudgeTemplate // nil for rouge-l
	rows  int            // rows per forward pass (local)
	top   int            // labels outside the top this many are missing; 0: never
	maxIn int            // local judge prompts are cut to this many tokens; 0: never
}

// openJudgeBackend opens the backend r names.
func openJudgeBackend(rc *engine.RunContext, r ModelRef, s judgeSettings) (judgeBackend, error) {
	switch {
	case r.Rouge:
		return rougeJudge{}, nil
	case r.Endpoint != nil:
		return openEndpointJudge(rc, r, s)
	case r.Path != "":
		return openLocalJudge(rc, r, s)
	}
	return nil, fmt.Errorf("no judge model set")
}

// openGenerators opens one generator per worker: one per granted device
// for local models (each holds its own copy of the weights), one for an
// endpoint (whose client bounds its own concurrency).
func openGenerators(rc *engine.RunContext, r ModelRef, rows int) ([]generatorBackend, error) {
	switch {
	case r.Rouge:
		return nil, fmt.Errorf("%q judges, it cannot generate", RougeJudgeName)
	case r.Endpoint != nil:
		g, err := openEndpointGenerator(rc, r)
		if err != nil {
			return nil, err
		}
		return []generatorBackend{g}, nil
	case r.Path != "":
		return openLocalGenerators(rc, r, rows)
	}
	return nil, fmt.Errorf("no model set")
}

func closeAll[B modelBackend](bs []B) {
	for _, b := range bs {
		b.close()
	}
}

// sumUsage adds up usages; nil when every one is nil (no endpoint).
func sumUsage(us ...*EndpointUsage) *EndpointUsage {
	var sum *EndpointUsage
	for _, u := range us {
		if u == nil {
			continue
		}
		if sum == nil {
			sum = &EndpointUsage{}
		}
		sum.PromptTokens += u.PromptTokens
		sum.CompletionTokens += u.CompletionTokens
		sum.Requests += u.Requests
		sum.Retries += u.Retries
		sum.MemoHits += u.MemoHits
	}
	return sum
}
