package llm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/refeval/refeval/llm/checkpoint"
)

// TestPassesDoNotChangeResults: scoring, next-token log-probs (with and
// without a shared prefix) and generation give bit-for-bit the same results with one pass at a time as
// with three at once, though the passes then hold other rows (ceil(n/3)
// of them instead of up to maxBatch).
func TestPassesDoNotChangeResults(t *testing.T) {
	ctx := context.Background()
	m := testModel(t, 8)
	var seqs []Sequence
	var prefixes [][]int
	var reqs []GenRequest
	for i := range 11 {
		p := prompt(uint64(10+i), 3+2*i)
		seqs = append(seqs, Sequence{Tokens: append(p, prompt(uint64(40+i), 4+i)...), PromptLen: len(p)})
		prefixes = append(prefixes, p)
		reqs = append(reqs, GenRequest{Prompt: p, Item: string(rune('a' + i))})
	}
	sp := SampleParams{N: 2, MaxTokens: 9, Temperature: 0.9, TopP: 0.95, Seed: 3}
	type results struct {
		Scores []SeqLogProbs
		Next   [][]float32
		Shared [][]float32
		Gens   []Generation
	}
	run := func(passes int) results {
		m.passes = passes
		var r results
		var err error
		if r.Scores, err = m.SequenceLogProbs(ctx, seqs); err != nil {
			t.Fatal(err)
		}
		if r.Next, err = m.NextTokenLogProbs(ctx, prefixes); err != nil {
			t.Fatal(err)
		}
		suffixes := make([][]int, len(seqs))
		for i, s := range seqs {
			suffixes[i] = s.Tokens[s.PromptLen:]
		}
		if r.Shared, err = m.NextTokenLogProbsShared(ctx, prompt(7, 20), suffixes); err != nil {
			t.Fatal(err)
		}
		if r.Gens, err = m.Generate(ctx, reqs, sp); err != nil {
			t.Fatal(err)
		}
		return r
	}
	one := run(1)
	three := run(3)
	if diff := cmp.Diff(one, three); diff != "" {
		t.Errorf("results changed with three passes at once (-one +three):\n%s", diff)
	}
	if len(one.Scores) != len(seqs) || len(one.Next) != len(prefixes) || len(one.Shared) != len(seqs) || len(one.Gens) != len(reqs) {
		t.Fatalf("wrong result counts: %d, %d, %d, %d", len(one.Scores), len(one.Next), len(one.Shared), len(one.Gens))
	}
}

// TestEachPassRunsPassesAtOnce: with two passes, two are in flight at
// once (each waits, at most 10 s, for the other to start); with one, they
// run one after another; an error stops the passes not yet started.
func TestEachPassRunsPassesAtOnce(t *testing.T) {
	m := &Model{passes: 2}
	var wg sync.WaitGroup
	wg.Add(2)
	err := m.eachPass(context.Background(), 2, func(k int) error {
		wg.Done()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
		select {
		case <-done:
			return nil
		case <-time.After(10 * time.Second):
			return fmt.Errorf("pass %d ran alone", k)
		}
	})
	if err != nil {
		t.Fatal(err)
	}

	m.passes = 1
	var running, most atomic.Int32
	var calls atomic.Int32
	err = m.eachPass(context.Background(), 50, func(k int) error {
		calls.Add(1)
		n := running.Add(1)
		defer running.Add(-1)
		if n > most.Load() {
			most.Store(n)
		}
		time.Sleep(time.Millisecond)
		if k == 3 {
			return errors.New("pass 3 failed")
		}
		return nil
	})
	if err == nil || err.Error() != "pass 3 failed" {
		t.Errorf("error %v, want pass 3 failed", err)
	}
	if most.Load() != 1 {
		t.Errorf("%d passes at once with passes = 1", most.Load())
	}
	if c := calls.Load(); c > 5 {
		t.Errorf("%d passes ran after the fourth failed", c)
	}
}

// TestPassesDoNotChangeResultsLargeKernel: the same with a model whose
// products take the backend's blocked kernel in an 8-row pass and its small
// kernel in a 1-row one (flops below 4M), so a sequence's log-probs do not
// depend on which kernel its pass took either.
func TestPassesDoNotChangeResultsLargeKernel(t *testing.T) {
	cfg, err := checkpoint.SizedConfig("qwen2", "small", 300)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(cfg, checkpoint.Random(cfg, 5), Options{MaxBatch: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	var seqs []Sequence
	var prefixes [][]int
	for i := range 6 {
		p := prompt(uint64(10+i), 60)
		seqs = append(seqs, Sequence{Tokens: append(p, prompt(uint64(40+i), 60)...), PromptLen: len(p)})
		prefixes = append(prefixes, p)
	}
	run := func(passes int) ([]SeqLogProbs, [][]float32) {
		m.passes = passes
		s, err := m.SequenceLogProbs(ctx, seqs)
		if err != nil {
			t.Fatal(err)
		}
		n, err := m.NextTokenLogProbs(ctx, prefixes)
		if err != nil {
			t.Fatal(err)
		}
		return s, n
	}
	s1, n1 := run(1)
	s6, n6 := run(6)
	if d := cmp.Diff(s1, s6); d != "" {
		t.Errorf("scores changed with one row a pass (-one pass +six):\n%.3000s", d)
	}
	if d := cmp.Diff(n1, n6); d != "" {
		t.Errorf("next-token log-probs changed with one row a pass (-one pass +six):\n%.3000s", d)
	}
}
