package stages

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/llm"
	"github.com/refeval/refeval/llm/openai"
)

// genSettings are the sampling settings of the sample, eval and reference
// stages. They enter every memo key.
type genSettings struct {
	N           int     `json:"n"`
	Temperature float64 `json:"temperature"` // 0: greedy
	TopP        float64 `json:"top_p"`
	TopK        int     `json:"top_k"`
	MaxTokens   int     `json:"max_tokens"`
	Seed        uint64  `json:"seed"`
	// MaxPromptTokens cuts a local model's chat-templated prompt to its
	// first this many tokens (0: no limit; endpoints: never set).
	MaxPromptTokens int `json:"max_prompt_tokens,omitempty"`
}

// A generator answers prompts with a local model or an endpoint.
type generator struct {
	local  *llm.Model
	text   *chatText
	client *openai.Client
	id     string         // modelID: enters memo keys
	onDone func(done int) // endpoint progress within one call of generate; nil: none
	cut    atomic.Int64   // prompts cut to MaxPromptTokens
}

// openGenerators opens one generator per worker: one per granted device
// for local models (each holds its own copy of the weights), one for an
// endpoint (whose client bounds its own concurrency).
func openGenerators(rc *engine.RunContext, r ModelRef, rows int) ([]*generator, error) {
	if r.Endpoint != nil {
		c, err := newClient(rc, r)
		if err != nil {
			return nil, err
		}
		id, _ := modelID(rc, r, nil)
		return []*generator{{client: c, id: id}}, nil
	}
	workers := max(1, len(rc.Devices))
	var gens []*generator
	loader := &deviceLoader{rc: rc, r: r, rows: rows}
	for k := range workers {
		m, err := loader.load(k)
		if err != nil {
			closeGenerators(gens)
			return nil, err
		}
		g := &generator{local: m}
		gens = append(gens, g)
		if g.text, err = newChatText(m.Tokenizer(), m.Template(), r.Path); err != nil {
			closeGenerators(gens)
			return nil, err
		}
		if g.id, err = modelID(rc, r, m); err != nil {
			closeGenerators(gens)
			return nil, err
		}
	}
	return gens, nil
}

func closeGenerators(gens []*generator) {
	for _, g := range gens {
		if g.local != nil {
			g.local.Close()
		}
	}
}

// generate answers each prompt with s.N texts. lines are the prompts'
// line numbers in their file, for errors.
func (g *generator) generate(ctx context.Context, prompts []string, lines []int, s genSettings) ([][]string, error) {
	if g.client != nil {
		return g.generateRemote(ctx, prompts, lines, s)
	}
	reqs := make([]llm.GenRequest, len(prompts))
	for i, p := range prompts {
		ids, err := g.text.promptIDs(p)
		if err != nil {
			return nil, err
		}
		if s.MaxPromptTokens > 0 && len(ids) > s.MaxPromptTokens {
			// As the paper's vllm_models.py: keep the first tokens.
			ids = ids[:s.MaxPromptTokens]
			g.cut.Add(1)
		}
		reqs[i] = llm.GenRequest{Prompt: ids, Item: p}
	}
	gens, err := g.local.Generate(ctx, reqs, llm.SampleParams{
		N: s.N, MaxTokens: s.MaxTokens, Temperature: s.Temperature, TopP: s.TopP, TopK: s.TopK,
		Greedy: s.Temperature == 0, Seed: s.Seed,
	})
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(prompts))
	for i, gen := range gens {
		for _, smp := range gen.Samples {
			out[i] = append(out[i], g.text.text(smp.Tokens))
		}
	}
	return out, nil
}

// generateRemote asks the endpoint for each prompt through ChatAll, which
// keeps the model's max_concurrency requests in flight. top_k, which the
// OpenAI API lacks, goes as vLLM's extra field when it is set.
func (g *generator) generateRemote(ctx context.Context, prompts []string, lines []int, s genSettings) ([][]string, error) {
	items := make([]string, len(prompts))
	reqs := make([]openai.ChatRequest, len(prompts))
	for i, p := range prompts {
		reqs[i] = remoteRequest(p, s)
		items[i] = fmt.Sprintf("prompt line %d", lines[i])
	}
	resps, err := g.client.ChatAll(ctx, items, reqs, g.onDone)
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

// memoKey hashes its parts into a memo key.
func memoKey(parts ...any) string {
	h := sha256.New()
	for _, p := range parts {
		b, _ := json.Marshal(p)
		h.Write(b)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// memoGet reads a JSON memo entry; a missing memo or entry is a miss.
func memoGet(rc *engine.RunContext, key string, v any) (bool, error) {
	if rc.Memo == nil {
		return false, nil
	}
	b, ok, err := rc.Memo.Get(key)
	if err != nil || !ok {
		return false, err
	}
	if json.Unmarshal(b, v) != nil {
		return false, nil // an unreadable entry is computed again
	}
	return true, nil
}

func memoPut(rc *engine.RunContext, key string, v any) error {
	if rc.Memo == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return rc.Memo.Put(key, b)
}

// generateAll opens r's generators with rows rows per forward pass,
// answers every prompt with s.N texts through memoGenerate (chunks of chunk
// prompts), and closes them. It also returns how many prompts the memo
// answered.
func generateAll(ctx context.Context, rc *engine.RunContext, r ModelRef, purpose string, prompts []string, s genSettings, rows, chunk int) ([][]string, int, error) {
	gens, err := openGenerators(rc, r, rows)
	if err != nil {
		return nil, 0, err
	}
	defer closeGenerators(gens)
	if r.Endpoint != nil {
		// One chunk: the client keeps max_concurrency requests in flight
		// (and memoizes each answer, so an interrupted stage resumes).
		chunk = max(1, len(prompts))
	}
	return memoGenerate(ctx, rc, gens, purpose, prompts, s, chunk)
}

// memoGenerate answers every prompt with s.N texts, reading answers from
// rc.Memo and storing each chunk's as soon as it is done, so an interrupted
// stage resumes where it stopped and new prompts cost only themselves.
// Chunks of chunk prompts are dealt to the generators (one per device).
func memoGenerate(ctx context.Context, rc *engine.RunContext, gens []*generator, purpose string, prompts []string, s genSettings, chunk int) ([][]string, int, error) {
	out := make([][]string, len(prompts))
	keys := make([]string, len(prompts))
	salt := "refeval generate v1"
	if gens[0].client != nil {
		// v2: endpoints are sent top_k. Their requests are memoized by the
		// client too, so answers to unchanged requests cost nothing.
		salt = "refeval generate remote v2"
	}
	var todo []int
	for i, p := range prompts {
		keys[i] = memoKey(salt, purpose, gens[0].id, s, p)
		ok, err := memoGet(rc, keys[i], &out[i])
		if err != nil {
			return nil, 0, err
		}
		if !ok || len(out[i]) != max(1, s.N) {
			todo = append(todo, i)
		}
	}
	hits := len(prompts) - len(todo)
	var mu sync.Mutex
	done := int64(hits)
	progress(rc, done, int64(len(prompts)))
	chunks := make(chan []int)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(gens))
	var wg sync.WaitGroup
	for w, g := range gens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for idx := range chunks {
				ps := make([]string, len(idx))
				lines := make([]int, len(idx))
				for k, i := range idx {
					ps[k], lines[k] = prompts[i], i+1
				}
				if g.client != nil {
					g.onDone = func(n int) {
						mu.Lock()
						progress(rc, done+int64(n), int64(len(prompts)))
						mu.Unlock()
					}
				}
				texts, err := g.generate(ctx, ps, lines, s)
				if err == nil {
					for k, i := range idx {
						out[i] = texts[k]
						if err = memoPut(rc, keys[i], texts[k]); err != nil {
							break
						}
					}
				}
				if err != nil {
					errs[w] = err
					cancel()
					return
				}
				mu.Lock()
				done += int64(len(idx))
				progress(rc, done, int64(len(prompts)))
				mu.Unlock()
			}
		}()
	}
feed:
	for start := 0; start < len(todo); start += chunk {
		select {
		case chunks <- todo[start:min(start+chunk, len(todo))]:
		case <-ctx.Done():
			break feed
		}
	}
	close(chunks)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, 0, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	var cut int64
	for _, g := range gens {
		cut += g.cut.Load()
	}
	if cut > 0 {
		logf(rc, "%s: %d prompts were longer than max_prompt_tokens = %d and were cut to their first %d tokens, as the paper's code does\n", purpose, cut, s.MaxPromptTokens, s.MaxPromptTokens)
	}
	return out, hits, nil
}

func progress(rc *engine.RunContext, done, total int64) {
	if rc.Progress != nil {
		rc.Progress(done, total)
	}
}

func logf(rc *engine.RunContext, format string, args ...any) {
	if rc.Log != nil {
		fmt.Fprintf(rc.Log, format, args...)
	}
}
