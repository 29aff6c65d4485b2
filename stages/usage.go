package stages

import (
	"github.com/refeval/refeval/engine"
)

// EndpointUsage is what the OpenAI-compatible endpoints cost one run of a
// stage, summed over every client it opened (policy, baseline, judge). It
// is the "usage" object of the metrics.json of the sample, score, eval and
// reference kinds when they use an endpoint. Answers taken from the memo
// cost nothing and are counted in MemoHits only.
type EndpointUsage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	Requests         int64 `json:"requests"` // HTTP attempts, retries included
	Retries          int64 `json:"retries"`
	MemoHits         int64 `json:"memo_hits"` // chat requests answered from the memo
}

// logUsage writes the usage line of a stage's log.
func logUsage(rc *engine.RunContext, kind string, u *EndpointUsage) {
	if u == nil {
		return
	}
	logf(rc, "%s: endpoint usage: %d prompt + %d completion tokens, %d requests (%d retries), %d answers from the memo\n",
		kind, u.PromptTokens, u.CompletionTokens, u.Requests, u.Retries, u.MemoHits)
}
