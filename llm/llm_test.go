package llm

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/refeval/refeval/llm/checkpoint"
)

// testModel is a tiny Qwen2 (GQA, biases) with a 300-token vocabulary and
// weights of std 0.2, so that next-token distributions are far from
// uniform.
func testModel(t testing.TB, maxBatch int) *Model {
	return newTestModel(t, "qwen2", nil, maxBatch)
}

// newTestModel is a tiny model of arch, its config changed by edit when it
// is not nil, with an EOS of 299 and the weights testModel describes.
func newTestModel(t testing.TB, arch string, edit func(*checkpoint.Config), maxBatch int) *Model {
	t.Helper()
	cfg, err := checkpoint.SizedConfig(arch, "tiny", 300)
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&cfg)
	}
	cfg.EOSTokenIDs = []int{299}
	w := checkpoint.Random(cfg, 5)
	for _, x := range w {
		for i := range x.Data {
			x.Data[i] *= 10
		}
	}
	checkpoint.Perturb(w, 5)
	m, err := New(cfg, w, Options{MaxBatch: maxBatch})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// checkGenerationScores generates for reqs and checks each sample's
// per-token log-probs, and their sum, against a fresh full forward pass
// (SequenceLogProbs). It returns the generations.
func checkGenerationScores(t *testing.T, ctx context.Context, m *Model, reqs []GenRequest, p SampleParams) []Generation {
	t.Helper()
	gens, err := m.Generate(ctx, reqs, p)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []Sequence
	var want [][]float32
	for i, g := range gens {
		for _, s := range g.Samples {
			seqs = append(seqs, Sequence{Tokens: append(append([]int{}, reqs[i].Prompt...), s.Tokens...), PromptLen: len(reqs[i].Prompt)})
			want = append(want, s.LogProbs)
		}
	}
	got, err := m.SequenceLogProbs(ctx, seqs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range seqs {
		sum := 0.0
		for j, v := range want[i] {
			sum += float64(v)
			if math.Abs(float64(v-got[i].Tokens[j])) > 1e-4 {
				t.Errorf("wrong log-prob of sequence %d token %d (generation vs scoring)\ngot:  %#v\nwant: %#v", i, j, got[i].Tokens[j], v)
			}
		}
		if math.Abs(sum-got[i].Sum) > 1e-3 {
			t.Errorf("wrong sum of sequence %d\ngot:  %#v\nwant: %#v", i, got[i].Sum, sum)
		}
	}
	return gens
}

func prompt(seed uint64, n int) []int {
	r := rand.New(rand.NewPCG(seed, 1))
	p := make([]int, n)
	for i := range p {
		p[i] = r.IntN(298)
	}
	return p
}

func TestGenerateBatchInvariant(t *testing.T) {
	ctx := context.Background()
	m := testModel(t, 8)
	target := GenRequest{Prompt: prompt(1, 5), Item: "target"}
	// Longer prompts: the same cache bucket as the target (batched with
	// it, other prompt bucket) and a longer one (another batch).
	others := []GenRequest{
		{Prompt: prompt(2, 40), Item: "long"},
		{Prompt: prompt(3, 17), Item: "mid"},
	}
	tests := []struct {
		name string
		p    SampleParams
	}{
		{"greedy", SampleParams{MaxTokens: 12, Greedy: true}},
		{"temperature", SampleParams{N: 2, MaxTokens: 12, Temperature: 1, Seed: 9}},
		{"top-p top-k", SampleParams{N: 3, MaxTokens: 12, Temperature: 0.8, TopP: 0.9, TopK: 20, Seed: 4}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			alone, err := m.Generate(ctx, []GenRequest{target}, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			mixed, err := m.Generate(ctx, []GenRequest{others[0], target, others[1]}, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			// Bit-for-bit: tokens and log-probs.
			if diff := cmp.Diff(alone[0], mixed[1]); diff != "" {
				t.Errorf("wrong samples in a batch with longer prompts (-alone +batched):\n%s", diff)
			}
			again, err := m.Generate(ctx, []GenRequest{target}, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(alone, again); diff != "" {
				t.Errorf("wrong samples on a second run (-first +second):\n%s", diff)
			}
			if n := len(alone[0].Samples); n != max(1, tc.p.N) {
				t.Errorf("wrong sample count\ngot:  %#v\nwant: %#v", n, max(1, tc.p.N))
			}
		})
	}
	t.Run("seed matters", func(t *testing.T) {
		p := SampleParams{N: 1, MaxTokens: 12, Temperature: 1}
		a, _ := m.Generate(ctx, []GenRequest{target}, p)
		p.Seed = 1
		b, _ := m.Generate(ctx, []GenRequest{target}, p)
		if cmp.Equal(a, b) {
			t.Error("seeds 0 and 1 gave the same sample")
		}
	})
}

// TestGenerateLogProbsMatchScoring checks the generation's per-token
// log-probs against a fresh full forward pass (SequenceLogProbs) and the
// next-token distribution.
func TestGenerateLogProbsMatchScoring(t *testing.T) {
	ctx := context.Background()
	m := testModel(t, 4)
	reqs := []GenRequest{{Prompt: prompt(7, 9), Item: "a"}, {Prompt: prompt(8, 3), Item: "b"}}
	gens := checkGenerationScores(t, ctx, m, reqs, SampleParams{N: 2, MaxTokens: 10, Temperature: 1, Seed: 3})
	// The first generated token's log-prob is the next-token distribution after the prompt.
	next, err := m.NextTokenLogProbs(ctx, [][]int{reqs[0].Prompt, reqs[1].Prompt})
	if err != nil {
		t.Fatal(err)
	}
	for i, g := range gens {
		tok := g.Samples[0].Tokens[0]
		if d := math.Abs(float64(next[i][tok] - g.Samples[0].LogProbs[0])); d > 1e-4 {
			t.Errorf("wrong next-token log-prob of request %d\ngot:  %#v\nwant: %#v", i, next[i][tok], g.Samples[0].LogProbs[0])
		}
		total := 0.0
		for _, v := range next[i] {
			total += math.Exp(float64(v))
		}
		if math.Abs(total-1) > 1e-4 {
			t.Errorf("wrong probability mass of request %d\ngot:  %#v\nwant: 1", i, total)
		}
	}
}

func TestGenerateStopsAtEOS(t *testing.T) {
	ctx := context.Background()
	m := testModel(t, 4)
	req := GenRequest{Prompt: prompt(11, 6), Item: "x"}
	g, err := m.Generate(ctx, []GenRequest{req}, SampleParams{MaxTokens: 5, Greedy: true})
	if err != nil {
		t.Fatal(err)
	}
	s := g[0].Samples[0]
	if s.Finish != FinishLength || len(s.Tokens) != 5 {
		t.Fatalf("wrong finish\ngot:  %#v after %d tokens\nwant: %#v after 5", s.Finish, len(s.Tokens), FinishLength)
	}
	m.cfg.EOSTokenIDs = []int{s.Tokens[2]}
	g, err = m.Generate(ctx, []GenRequest{req}, SampleParams{MaxTokens: 5, Greedy: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := g[0].Samples[0]; got.Finish != FinishEOS || !cmp.Equal(got.Tokens, s.Tokens[:3]) {
		t.Errorf("wrong stop\ngot:  %#v %v\nwant: %#v %v", got.Finish, got.Tokens, FinishEOS, s.Tokens[:3])
	}
}

// TestCompilationsReused runs many batches of varied sizes and lengths
// that fall in the same buckets and checks nothing recompiles.
func TestCompilationsReused(t *testing.T) {
	ctx := context.Background()
	m := testModel(t, 4)
	// One pass at a time: passes spread 3 or 4 rows over passes of 1 or
	// 2, which are other batch shapes (TestPassesDoNotChangeResults).
	m.passes = 1
	p := SampleParams{MaxTokens: 3, Temperature: 1}
	run := func(i int) {
		// Batches of 3 or 4 rows (bucket 4), prompts of 1 to 12 tokens plus 3 new ones (bucket 16).
		reqs := []GenRequest{{Prompt: prompt(uint64(i), 3+i%10), Item: "a"}, {Prompt: prompt(uint64(i+100), 1+i%7), Item: "b"}, {Prompt: prompt(1, 2), Item: "c"}, {Prompt: []int{5}, Item: "d"}}
		if _, err := m.Generate(ctx, reqs[:3+i%2], p); err != nil {
			t.Fatal(err)
		}
		seqs := []Sequence{{Tokens: prompt(uint64(i), 4+i%9), PromptLen: 2}, {Tokens: prompt(3, 5), PromptLen: 1}, {Tokens: prompt(4, 2), PromptLen: 1}, {Tokens: []int{1, 2}, PromptLen: 1}}
		if _, err := m.SequenceLogProbs(ctx, seqs[:3+i%2]); err != nil {
			t.Fatal(err)
		}
		if _, err := m.NextTokenLogProbs(ctx, [][]int{prompt(uint64(i), 1+i%11), {1}, {2}, {3}}[:3+i%2]); err != nil {
			t.Fatal(err)
		}
	}
	run(0)
	first := m.Compilations()
	for i := 1; i < 12; i++ {
		run(i)
	}
	// Prefill, decode, log-probs and next-token graphs, one shape each.
	if first != 4 || m.Compilations() != first {
		t.Errorf("wrong compilation count\ngot:  %#v after the first round, %#v after 12\nwant: 4 and 4", first, m.Compilations())
	}
}

func TestBadInput(t *testing.T) {
	ctx := context.Background()
	m := testModel(t, 4)
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"empty prompt", func() error {
			_, err := m.Generate(ctx, []GenRequest{{Item: "x"}}, SampleParams{MaxTokens: 1})
			return err
		}, `request 0 (item "x"): empty prompt`},
		{"token out of range", func() error {
			_, err := m.Generate(ctx, []GenRequest{{Prompt: []int{300}}}, SampleParams{MaxTokens: 1})
			return err
		}, "request 0: token id 300 outside the vocabulary"},
		{"no max tokens", func() error { _, err := m.Generate(ctx, []GenRequest{{Prompt: []int{1}}}, SampleParams{}); return err }, "max tokens must be positive"},
		{"bad top-p", func() error {
			_, err := m.Generate(ctx, []GenRequest{{Prompt: []int{1}}}, SampleParams{MaxTokens: 1, TopP: 2})
			return err
		}, "top_p 2 (want in [0, 1])"},
		{"prompt length 0", func() error {
			_, err := m.SequenceLogProbs(ctx, []Sequence{{Tokens: []int{1, 2}, PromptLen: 0}})
			return err
		}, "sequence 0: prompt length 0 outside [1, 2]"},
		{"negative token", func() error { _, err := m.NextTokenLogProbs(ctx, [][]int{{-1}}); return err }, "prefix 0: token id -1 outside"},
		{"empty prefix", func() error { _, err := m.NextTokenLogProbs(ctx, [][]int{{}}); return err }, "prefix 0 is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.run(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("wrong error\ngot:  %v\nwant: containing %q", err, tc.want)
			}
		})
	}
}

func TestCancelled(t *testing.T) {
	m := testModel(t, 4)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Generate(ctx, []GenRequest{{Prompt: []int{1, 2}}}, SampleParams{MaxTokens: 4}); err != context.Canceled {
		t.Errorf("wrong error from Generate\ngot:  %#v\nwant: %#v", err, context.Canceled)
	}
	if _, err := m.SequenceLogProbs(ctx, []Sequence{{Tokens: []int{1, 2}, PromptLen: 1}}); err != context.Canceled {
		t.Errorf("wrong error from SequenceLogProbs\ngot:  %#v\nwant: %#v", err, context.Canceled)
	}
	if _, err := m.NextTokenLogProbs(ctx, [][]int{{1}}); err != context.Canceled {
		t.Errorf("wrong error from NextTokenLogProbs\ngot:  %#v\nwant: %#v", err, context.Canceled)
	}
}

func TestClosed(t *testing.T) {
	m := testModel(t, 4)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.NextTokenLogProbs(context.Background(), [][]int{{1}}); err != errClosed {
		t.Errorf("wrong error after Close\ngot:  %#v\nwant: %#v", err, errClosed)
	}
	if err := m.Close(); err != nil {
		t.Errorf("wrong error from a second Close\ngot:  %#v\nwant: nil", err)
	}
}

func TestScoreEmptyResponse(t *testing.T) {
	m := testModel(t, 4)
	got, err := m.SequenceLogProbs(context.Background(), []Sequence{{Tokens: []int{1, 2, 3}, PromptLen: 3}, {Tokens: []int{1, 2, 3}, PromptLen: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got[0].Tokens) != 0 || got[0].Sum != 0 {
		t.Errorf("wrong score of an empty response\ngot:  %#v\nwant: no tokens, sum 0", got[0])
	}
	if len(got[1].Tokens) != 1 || got[1].Sum >= 0 || float64(got[1].Tokens[0]) != got[1].Sum {
		t.Errorf("wrong score of a one-token response\ngot:  %#v", got[1])
	}
}
