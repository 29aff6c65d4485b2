package stages

import (
	"sync"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/llm/openai"
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

// clients holds the endpoint clients each running stage opened (newClient),
// so that the stage can sum their usage without threading them through
// every helper.
var clients = struct {
	sync.Mutex
	m map[*engine.RunContext][]*openai.Client
}{m: map[*engine.RunContext][]*openai.Client{}}

// trackClient records a client opened for rc.
func trackClient(rc *engine.RunContext, c *openai.Client) {
	clients.Lock()
	clients.m[rc] = append(clients.m[rc], c)
	clients.Unlock()
}

// endpointUsage sums the usage of the clients rc's stage opened so far; nil
// when it opened none (no endpoint model).
func endpointUsage(rc *engine.RunContext) *EndpointUsage {
	clients.Lock()
	cs := clients.m[rc]
	clients.Unlock()
	if len(cs) == 0 {
		return nil
	}
	var u EndpointUsage
	for _, c := range cs {
		s := c.Stats()
		u.PromptTokens += s.PromptTokens
		u.CompletionTokens += s.CompletionTokens
		u.Requests += s.Requests
		u.Retries += s.Retries
		u.MemoHits += s.MemoHits
	}
	return &u
}

// forgetClients drops rc's clients; every kind that may open one defers it
// in Run.
func forgetClients(rc *engine.RunContext) {
	clients.Lock()
	delete(clients.m, rc)
	clients.Unlock()
}

// logUsage writes the usage line of a stage's log.
func logUsage(rc *engine.RunContext, kind string, u *EndpointUsage) {
	if u == nil {
		return
	}
	logf(rc, "%s: endpoint usage: %d prompt + %d completion tokens, %d requests (%d retries), %d answers from the memo\n",
		kind, u.PromptTokens, u.CompletionTokens, u.Requests, u.Retries, u.MemoHits)
}
