package llm

import (
	"context"
	"math"
	"strings"
	"testing"
)

// TestNextTokenLogProbsShared checks that the shared-prefix path gives the
// unshared path's log-probs, for prefixes and suffixes of several lengths
// and buckets (suffixes longer than the prefix, batches split by MaxBatch),
// and that it reuses its graphs.
func TestNextTokenLogProbsShared(t *testing.T) {
	ctx := context.Background()
	m := testModel(t, 4)
	tests := []struct {
		name     string
		prefix   int
		suffixes []int
	}{
		{"one suffix", 5, []int{3}},
		{"prefix fills its bucket", 16, []int{1, 2}},
		{"long prefix", 40, []int{7, 1, 12, 9, 3}},
		{"suffix longer than prefix", 3, []int{20, 2}},
		{"mixed buckets", 17, []int{15, 33, 4, 4, 4, 4, 4, 4, 1}},
	}
	for n, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var suffixes [][]int
			for i, l := range tt.suffixes {
				suffixes = append(suffixes, prompt(uint64(200+10*n+i), l))
			}
			checkSharedPrefix(t, ctx, m, prompt(uint64(100+n), tt.prefix), suffixes)
		})
	}
	// The same buckets again compile nothing new.
	before := m.Compilations()
	if _, err := m.NextTokenLogProbsShared(ctx, prompt(1, 39), [][]int{prompt(2, 8), prompt(3, 2), prompt(4, 5), prompt(5, 1)}); err != nil {
		t.Fatal(err)
	}
	if got := m.Compilations(); got != before {
		t.Errorf("wrong number of compilations after repeating buckets\ngot:  %#v\nwant: %#v", got, before)
	}
}

// checkSharedPrefix checks that NextTokenLogProbsShared gives, for each
// suffix, NextTokenLogProbs's row of the whole prefix + suffix within 1e-5.
func checkSharedPrefix(t *testing.T, ctx context.Context, m *Model, prefix []int, suffixes [][]int) {
	t.Helper()
	var whole [][]int
	for _, s := range suffixes {
		whole = append(whole, append(append([]int{}, prefix...), s...))
	}
	got, err := m.NextTokenLogProbsShared(ctx, prefix, suffixes)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.NextTokenLogProbs(ctx, whole)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("wrong number of rows\ngot:  %#v\nwant: %#v", len(got), len(want))
	}
	for i := range want {
		worst := 0.0
		for k := range want[i] {
			worst = max(worst, math.Abs(float64(got[i][k]-want[i][k])))
		}
		if worst > 1e-5 {
			t.Errorf("wrong shared-prefix log-probs of suffix %d: largest difference %g\ngot:  %#v\nwant: %#v", i, worst, got[i][:5], want[i][:5])
		}
	}
}

func TestNextTokenLogProbsSharedBadInput(t *testing.T) {
	ctx := context.Background()
	m := testModel(t, 4)
	tests := []struct {
		name     string
		prefix   []int
		suffixes [][]int
		want     string
	}{
		{"empty prefix", nil, [][]int{{1}}, "shared prefix is empty"},
		{"empty suffix", []int{1, 2}, [][]int{{3}, {}}, "suffix 1 is empty"},
		{"prefix id outside vocabulary", []int{1, 300}, [][]int{{3}}, "shared prefix 0: token id 300 outside"},
		{"suffix id outside vocabulary", []int{1, 2}, [][]int{{-1}}, "suffix 0: token id -1 outside"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.NextTokenLogProbsShared(ctx, tt.prefix, tt.suffixes)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("wrong error\ngot:  %v\nwant: containing %q", err, tt.want)
			}
		})
	}
}
