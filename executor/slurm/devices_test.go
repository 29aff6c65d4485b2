package slurm

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestJobDevices(t *testing.T) {
	tests := []struct {
		n       int
		visible string
		want    []int
	}{
		{0, "0,1", nil},
		{2, "0,1", []int{0, 1}},
		{2, "2,3", []int{2, 3}},               // Slurm's ids, passed on unchanged
		{1, "3,5", []int{3}},                  // more visible than asked
		{2, "", []int{0, 1}},                  // Slurm set none
		{2, "GPU-1a2b,GPU-3c4d", []int{0, 1}}, // UUIDs: positions
		{3, "0,1", []int{0, 1, 2}},            // fewer visible than asked
	}
	for _, tt := range tests {
		if got := (JobDevices{N: tt.n, Visible: tt.visible}).Devices(); !cmp.Equal(got, tt.want) {
			t.Errorf("JobDevices{%d, %q}\ngot:  %#v\nwant: %#v", tt.n, tt.visible, got, tt.want)
		}
	}
}
