package fingerprint

import (
	"strings"
	"testing"
)

// TestDiff checks which differences between two fingerprints count: float
// noise does not, a count off by one does.
func TestDiff(t *testing.T) {
	tests := []struct {
		name string
		a, b []float64
		want string // "" or a part of the diff
	}{
		{"equal", []float64{2048, -84.94, 0}, []float64{2048, -84.94, 0}, ""},
		{"float noise", []float64{-84.9429759979248, 0.6040104627609253}, []float64{-84.94298, 0.604011}, ""},
		{"near zero", []float64{0}, []float64{3e-7}, ""},
		{"noise onto a whole number", []float64{2.9999999}, []float64{3}, ""},
		{"count off by one", []float64{2048}, []float64{2049}, "number 0 was 2048 and is now 2049"},
		{"large count off by one", []float64{1, 32768}, []float64{1, 32769}, "number 1 was 32768"},
		{"value changed", []float64{0.604}, []float64{0.61}, "number 0 was 0.604"},
		{"fewer numbers", []float64{1, 2}, []float64{1}, "2 numbers are now 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Fingerprint{Digest: "d", Numbers: tt.a}.Diff(Fingerprint{Digest: "d", Numbers: tt.b})
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("wrong diff\ngot:  %q\nwant: %q", got, tt.want)
			}
		})
	}
	if got := (Fingerprint{Digest: "a"}).Diff(Fingerprint{Digest: "b"}); !strings.Contains(got, "digest") {
		t.Errorf("wrong diff for another digest: %q", got)
	}
}
