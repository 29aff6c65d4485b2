package llm

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/refeval/refeval/llm/bucket"
)

// GenRequest is one prompt to sample from.
type GenRequest struct {
	Prompt []int  // Token ids, chat template already applied.
	Item   string // Stable id of the item: with the seed and sample index it seeds the sample's RNG.
}

// Generation holds the samples of one request.
type Generation struct {
	Samples []Sample
}

// Sample is one generated continuation.
type Sample struct {
	Tokens   []int     // Generated ids, including the end-of-sequence id when Finish is "eos".
	LogProbs []float32 // The model's log-probability (temperature 1, before top-p/top-k) of each token.
	Finish   string    // "eos" or "length".
}

// Finish reasons.
const (
	FinishEOS    = "eos"
	FinishLength = "length"
)

// row is one sample in flight.
type row struct {
	req, sample int
	prompt      []int
	rng         *rand.Rand
	scratch     []float64 // pick's buffer, one per row.
	out         Sample
	done        bool
}

// Generate samples p.N continuations of each request: prefill of the
// prompts, then one decode step per token through the KV cache, stopping a
// sample at an end-of-sequence id of the model or after p.MaxTokens
// tokens. Each sample draws from its own RNG seeded from (p.Seed,
// req.Item, sample index), padding never enters a row's arithmetic, and
// rows are batched only with rows of the same KV-cache length, so a sample
// is bit-for-bit the same whatever else was requested with it.
func (m *Model) Generate(ctx context.Context, reqs []GenRequest, p SampleParams) ([]Generation, error) {
	if p.N <= 0 {
		p.N = 1
	}
	if p.MaxTokens <= 0 {
		return nil, fmt.Errorf("max tokens must be positive, got %d", p.MaxTokens)
	}
	if p.Temperature < 0 || p.TopP < 0 || p.TopP > 1 || p.TopK < 0 {
		return nil, fmt.Errorf("bad sampling parameters: temperature %g (want >= 0), top_p %g (want in [0, 1]), top_k %d (want >= 0)", p.Temperature, p.TopP, p.TopK)
	}
	var rows []*row
	for i, r := range reqs {
		if len(r.Prompt) == 0 {
			return nil, fmt.Errorf("request %d (item %q): empty prompt", i, r.Item)
		}
		if err := m.checkTokens("request", i, r.Prompt); err != nil {
			return nil, err
		}
		for s := 0; s < p.N; s++ {
			rows = append(rows, &row{req: i, sample: s, prompt: r.Prompt, rng: rowRNG(p.Seed, r.Item, s)})
		}
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	// Rows share a batch only with rows of the same KV-cache length: the
	// decode step's attention over the cache rounds differently for other
	// lengths (batch size and prompt bucket do not matter; tested), and a
	// sample must not depend on its batch.
	groups := map[int][]*row{}
	var order []int
	for _, r := range rows {
		c := bucket.Seq(len(r.prompt) + p.MaxTokens)
		if _, ok := groups[c]; !ok {
			order = append(order, c)
		}
		groups[c] = append(groups[c], r)
	}
	// The batches, run as many at once as m.passes. Unlike scoring, they
	// are not cut smaller to spread over the passes: the lm_head of a
	// decode step sums in another order for other batch sizes (head.go).
	var batches [][]*row
	for _, c := range order {
		group := groups[c]
		for start := 0; start < len(group); {
			n, _, _ := m.chunk(len(group)-start, func(i int) int { return len(group[start+i].prompt) }, nil)
			batches = append(batches, group[start:start+n])
			start += n
		}
	}
	if err := m.eachPass(ctx, len(batches), func(k int) error {
		return m.generateBatch(ctx, batches[k], p)
	}); err != nil {
		return nil, err
	}
	out := make([]Generation, len(reqs))
	for i := range out {
		out[i].Samples = make([]Sample, p.N)
	}
	for _, r := range rows {
		out[r.req].Samples[r.sample] = r.out
	}
	return out, nil
}

// generateBatch runs rows to completion as one batch. Callers read-hold
// m.mu.
func (m *Model) generateBatch(ctx context.Context, rows []*row, p SampleParams) error {
	longest := 0
	prompts := make([][]int, len(rows))
	for i, r := range rows {
		prompts[i] = r.prompt
		longest = max(longest, len(r.prompt))
	}
	seqLen := bucket.Seq(longest)
	cacheLen := bucket.Seq(longest + p.MaxTokens)
	batch := bucket.Batch(len(rows), m.maxBatch)
	prefill, err := m.prefillExec(cacheLen)
	if err != nil {
		return err
	}
	decode, err := m.decodeExec()
	if err != nil {
		return err
	}
	tk, mask := padded(prompts, batch, seqLen)
	res, err := prefill.Call(tk, mask)
	if err != nil {
		return fmt.Errorf("generating (prefill): %w", err)
	}
	// The last logits and KV cache (the biggest buffers of the batch) are
	// released on every way out, not left to the garbage collector.
	defer func() { finalize(res) }()
	toks := make([]int32, batch)
	pos := make([]int32, batch)
	for step := 0; ; step++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		logits, err := m.logitRows(res[0])
		if err != nil {
			return err
		}
		// The log-probabilities of the picked tokens need a log-sum-exp
		// over the vocabulary, which the next decode step does not: it
		// runs on another goroutine while the step runs, on the core the
		// step leaves idle outside its matmuls (a sixth of a decode step
		// at 21M when it ran in line).
		var live []int
		for i, r := range rows {
			if !r.done {
				live = append(live, i)
			}
		}
		lse := make([]float64, len(rows))
		lseDone := make(chan struct{})
		go func() {
			defer close(lseDone)
			for _, i := range live {
				lse[i] = logSumExp(logits[i])
			}
		}()
		picked := make([]int, len(rows))
		active := 0
		for i, r := range rows {
			if r.done {
				continue
			}
			if r.scratch == nil && !p.Greedy && p.Temperature > 0 {
				r.scratch = make([]float64, len(logits[i]))
			}
			t := pick(logits[i], p, r.rng, r.scratch)
			picked[i] = t
			r.out.Tokens = append(r.out.Tokens, t)
			switch {
			case slices.Contains(m.cfg.EOSTokenIDs, t):
				r.done, r.out.Finish = true, FinishEOS
			case len(r.out.Tokens) >= p.MaxTokens:
				r.done, r.out.Finish = true, FinishLength
			default:
				active++
			}
			toks[i] = int32(t)
			pos[i] = int32(len(r.prompt) + step)
		}
		var next []*tensors.Tensor
		if active > 0 {
			args := make([]any, 0, len(res)+1)
			args = append(args, tensors.FromValue(toks), tensors.FromValue(pos))
			// The cache is donated: the step writes its new keys and
			// values in place instead of copying every layer's cache.
			for _, c := range res[1:] {
				d, err := graph.DonateTensorBuffer(c, m.backend, m.device)
				if err != nil {
					return fmt.Errorf("generating (decode step %d): %w", step, err)
				}
				args = append(args, d)
			}
			next, err = decode.Call(args...)
		}
		<-lseDone
		for _, i := range live {
			r := rows[i]
			r.out.LogProbs = append(r.out.LogProbs, float32(float64(logits[i][picked[i]])-lse[i]))
		}
		if active == 0 {
			return nil
		}
		finalize(res)
		res = next
		if err != nil {
			return fmt.Errorf("generating (decode step %d): %w", step, err)
		}
	}
}
