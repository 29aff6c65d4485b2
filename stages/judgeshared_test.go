package stages

import (
	"context"
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/refeval/refeval/llm"
	"github.com/refeval/refeval/llm/checkpoint"
)

func TestSharedLen(t *testing.T) {
	tests := []struct {
		name    string
		prompts [][]int
		want    int
	}{
		{"diverge", [][]int{{1, 2, 3, 4}, {1, 2, 5, 6}}, 2},
		{"one is a prefix of the other", [][]int{{1, 2, 3}, {1, 2, 3, 4}}, 2},
		{"equal", [][]int{{1, 2, 3}, {1, 2, 3}}, 2},
		{"nothing shared", [][]int{{1, 2}, {2, 2}}, 0},
		{"three", [][]int{{1, 2, 3, 4}, {1, 2, 3, 5}, {1, 9, 3, 4}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			idx := make([]int, len(tt.prompts))
			for i := range idx {
				idx[i] = i
			}
			if got := sharedLen(tt.prompts, idx); got != tt.want {
				t.Errorf("wrong shared length\ngot:  %#v\nwant: %#v", got, tt.want)
			}
		})
	}
}

// TestNextTokenGrouped checks that judging with shared prefixes gives the
// log-probs of one unshared batch, with groups that share, groups too short
// to share and prompts alone, interleaved.
func TestNextTokenGrouped(t *testing.T) {
	cfg, err := checkpoint.SizedConfig("qwen2", "tiny", 300)
	if err != nil {
		t.Fatal(err)
	}
	m, err := llm.New(cfg, checkpoint.Random(cfg, 4), llm.Options{MaxBatch: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	seq := func(start, n int) []int {
		s := make([]int, n)
		for i := range s {
			s[i] = (start + 7*i) % 290
		}
		return s
	}
	cat := func(a, b []int) []int { return append(append([]int{}, a...), b...) }
	long, short := seq(1, 30), seq(2, 5)
	prompts := [][]int{
		cat(long, seq(10, 6)), cat(short, seq(11, 4)), cat(long, seq(12, 9)), seq(3, 12),
		cat(short, seq(13, 2)), cat(long, seq(14, 1)), cat(long, seq(15, 20)),
	}
	groups := []string{"long", "short", "long", "alone", "short", "long", "long"}
	got, err := nextTokenGrouped(context.Background(), m, prompts, groups)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.NextTokenLogProbs(context.Background(), prompts)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b float32) bool { return math.Abs(float64(a-b)) <= 1e-5 })); diff != "" {
		t.Errorf("wrong log-probs (-want +got):\n%s", diff)
	}
}
