package local

import (
	"slices"
	"testing"
)

func TestParseSMIList(t *testing.T) {
	tests := []struct {
		name, out string
		want      []int
	}{
		{"none", "", nil},
		{"two", "GPU 0: NVIDIA H200 (UUID: GPU-1a2b)\nGPU 1: NVIDIA H200 (UUID: GPU-3c4d)\n", []int{0, 1}},
		{"mig", "GPU 0: NVIDIA A100 (UUID: GPU-1a2b)\n  MIG 1g.5gb Device 0: (UUID: MIG-5e6f)\n", []int{0}},
		{"not a list", "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n", nil},
		{"malformed", "GPU x: odd\nGPU -1: odd\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseSMIList(tt.out); !slices.Equal(got, tt.want) {
				t.Errorf("wrong ids\ngot:  %#v\nwant: %#v", got, tt.want)
			}
		})
	}
}
