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

// A localGenerator answers prompts with an in-process checkpoint (package
// llm) on one device.
type localGenerator struct {
	local *llm.Model
	text  *chatText
	name  string       // modelID
	cut   atomic.Int64 // prompts cut to MaxPromptTokens
}

// openLocalGenerators loads one copy of the model per worker, worker k on
// the k-th granted device.
func openLocalGenerators(rc *engine.RunContext, r ModelRef, rows int) ([]generatorBackend, error) {
	workers := max(1, len(rc.Devices))
	var gens []generatorBackend
	loader := &deviceLoader{rc: rc, r: r, rows: rows}
	for k := range workers {
		m, err := loader.load(k)
		if err != nil {
			closeAll(gens)
			return nil, err
		}
		g := &localGenerator{local: m}
		gens = append(gens, g)
		if g.text, err = newChatText(m.Tokenizer(), m.Template(), r.Path); err != nil {
			closeAll(gens)
			return nil, err
		}
		if g.name, err = modelID(rc, r, m); err != nil {
			closeAll(gens)
			return nil, err
		}
	}
	return gens, nil
}

func (g *localGenerator) id() string            { return g.name }
func (g *localGenerator) remote() bool          { return false }
func (g *localGenerator) usage() *EndpointUsage { return nil }
func (g *localGenerator) truncated() int        { return int(g.cut.Load()) }
func (g *localGenerator) close()                { g.local.Close() }

// generate samples s.N texts for each prompt, cut to s.MaxPromptTokens.
func (g *localGenerator) generate(ctx context.Context, prompts []string, _ []int, s genSettings, _ func(int)) ([][]string, error) {
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
// answered and what the generators cost (nil: nothing countable).
func generateAll(ctx context.Context, rc *engine.RunContext, r ModelRef, purpose string, prompts []string, s genSettings, rows, chunk int) ([][]string, int, *EndpointUsage, error) {
	gens, err := openGenerators(rc, r, rows)
	if err != nil {
		return nil, 0, nil, err
	}
	defer closeAll(gens)
	if gens[0].remote() {
		// One chunk: the server side keeps its requests in flight (and the
		// client memoizes each answer, so an interrupted stage resumes).
		chunk = max(1, len(prompts))
	}
	texts, hits, err := memoGenerate(ctx, rc, gens, purpose, prompts, s, chunk)
	var us []*EndpointUsage
	for _, g := range gens {
		us = append(us, g.usage())
	}
	return texts, hits, sumUsage(us...), err
}

// memoGenerate answers every prompt with s.N texts, reading answers from
// rc.Memo and storing each chunk's as soon as it is done, so an interrupted
// stage resumes where it stopped and new prompts cost only themselves.
// Chunks of chunk prompts are dealt to the generators (one per device).
func memoGenerate(ctx context.Context, rc *engine.RunContext, gens []generatorBackend, purpose string, prompts []string, s genSettings, chunk int) ([][]string, int, error) {
	out := make([][]string, len(prompts))
	keys := make([]string, len(prompts))
	salt := "refeval generate v1"
	if gens[0].remote() {
		// v2: endpoints are sent top_k. Their requests are memoized by the
		// client too, so answers to unchanged requests cost nothing.
		salt = "refeval generate remote v2"
	}
	var todo []int
	for i, p := range prompts {
		keys[i] = memoKey(salt, purpose, gens[0].id(), s, p)
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
				var onDone func(int)
				if g.remote() {
					onDone = func(n int) {
						mu.Lock()
						progress(rc, done+int64(n), int64(len(prompts)))
						mu.Unlock()
					}
				}
				texts, err := g.generate(ctx, ps, lines, s, onDone)
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
	cut := 0
	for _, g := range gens {
		cut += g.truncated()
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
