package stages

import (
	"math"
	"strings"
	"testing"
)

func TestWilson(t *testing.T) {
	// Values from the closed form, checked against published tables
	// (5 of 10: 0.2366–0.7634; 81 of 100: 0.7222–0.8749).
	tests := []struct {
		name         string
		s, n         float64
		wantLo, want float64
	}{
		{"half of ten", 5, 10, 0.236593090512564, 0.7634069094874361},
		{"none of ten", 0, 10, 0, 0.2775327998628892},
		{"all of ten", 10, 10, 0.7224672001371107, 1},
		{"81 of 100", 81, 100, 0.7222115462093562, 0.8748524849023126},
		{"fractional", 7.5, 20, 0.1997708556646315, 0.5905104338485734},
		{"no trials", 0, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi := Wilson(tt.s, tt.n, Z95)
			if math.Abs(lo-tt.wantLo) > 1e-12 || math.Abs(hi-tt.want) > 1e-12 {
				t.Errorf("wrong interval\ngot:  %#v\nwant: %#v", [2]float64{lo, hi}, [2]float64{tt.wantLo, tt.want})
			}
		})
	}
}

func TestComputeWinRate(t *testing.T) {
	tests := []struct {
		name    string
		matches []Match
		want    WinRate
	}{
		{
			// Prompt 1: wins both orders (score 1). Prompt 2: wins first,
			// loses second (0.5). Prompt 3: tie then loss (0.25). Prompt 4:
			// loses both (0). Rate = 1.75/4.
			name: "mixed",
			matches: []Match{
				{PolicyFirst: 0.9, PolicySecond: 0.2},
				{PolicyFirst: 0.7, PolicySecond: 0.6},
				{PolicyFirst: 0.5, PolicySecond: 1},
				{PolicyFirst: 0, PolicySecond: 0.8},
			},
			want: WinRate{
				Prompts: 4, Wins: 3, Ties: 1, Losses: 4, Rate: 0.4375,
				MeanProb: ((0.9+0.8)/2 + (0.7+0.4)/2 + (0.5+0)/2 + (0+0.2)/2) / 4,
			},
		},
		{
			name:    "position bias cancels",
			matches: []Match{{PolicyFirst: 1, PolicySecond: 1}},
			want:    WinRate{Prompts: 1, Wins: 1, Losses: 1, Rate: 0.5, MeanProb: 0.5},
		},
		{name: "none", want: WinRate{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ComputeWinRate(tt.matches)
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Low, tt.want.High = Wilson(tt.want.Rate*float64(tt.want.Prompts), float64(tt.want.Prompts), Z95)
			if got.Prompts != tt.want.Prompts || got.Wins != tt.want.Wins || got.Ties != tt.want.Ties || got.Losses != tt.want.Losses ||
				math.Abs(got.Rate-tt.want.Rate) > 1e-12 || math.Abs(got.MeanProb-tt.want.MeanProb) > 1e-12 ||
				math.Abs(got.Low-tt.want.Low) > 1e-12 || math.Abs(got.High-tt.want.High) > 1e-12 {
				t.Errorf("wrong win rate\ngot:  %#v\nwant: %#v", got, tt.want)
			}
		})
	}
}

func TestComputeWinRateErrors(t *testing.T) {
	for _, m := range []Match{{PolicyFirst: 1.5}, {PolicySecond: math.NaN()}, {PolicyFirst: -0.1}} {
		_, err := ComputeWinRate([]Match{{0.5, 0.5}, m})
		if err == nil || !strings.Contains(err.Error(), "match 1") {
			t.Errorf("wrong error for %#v\ngot:  %v\nwant: match 1: …", m, err)
		}
	}
}
