package llm

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/refeval/refeval/llm/checkpoint"
)

// TestDevice runs a model pinned to device 0 (the pure-Go backend's only
// device) and checks it gives the default model's log-probs, and that a
// device the backend lacks is a DeviceError.
func TestDevice(t *testing.T) {
	cfg, err := checkpoint.SizedConfig("qwen2", "tiny", 300)
	if err != nil {
		t.Fatal(err)
	}
	w := checkpoint.Random(cfg, 5)
	ctx := context.Background()
	tests := []struct {
		name    string
		device  int
		wantErr bool
	}{
		{"device 0", 0, false},
		{"device 1", 1, true},
		{"negative", -1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(cfg, w, Options{MaxBatch: 4, Device: tt.device})
			var de *DeviceError
			if tt.wantErr {
				if !errors.As(err, &de) || de.Device != tt.device || de.Devices != 1 {
					t.Fatalf("wrong error\ngot:  %#v\nwant: a DeviceError for device %d of 1", err, tt.device)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if m.Device() != tt.device {
				t.Errorf("wrong device\ngot:  %#v\nwant: %#v", m.Device(), tt.device)
			}
			free, err := New(cfg, w, Options{MaxBatch: 4})
			if err != nil {
				t.Fatal(err)
			}
			defer free.Close()
			p := [][]int{prompt(1, 9), prompt(2, 20)}
			got, err := m.NextTokenLogProbs(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			want, err := free.NextTokenLogProbs(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("wrong log-probs on device %d (-want +got):\n%s", tt.device, diff)
			}
			gens, err := m.Generate(ctx, []GenRequest{{Prompt: prompt(3, 5), Item: "x"}}, SampleParams{N: 1, MaxTokens: 3, Greedy: true})
			if err != nil || len(gens[0].Samples[0].Tokens) == 0 {
				t.Errorf("generating on device %d: %v", tt.device, err)
			}
		})
	}
}
