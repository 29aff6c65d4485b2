package engine

import (
	"strings"
	"testing"
)

func TestBar(t *testing.T) {
	tests := []struct {
		done, total int64
		want        string
	}{
		{0, 10, "s [                    ] 0/10"},
		{5, 10, "s [##########          ] 5/10"},
		{10, 10, "s [####################] 10/10"},
		{12, 10, "s [####################] 12/10"},
		{3, 0, "s 3"},
	}
	for _, tt := range tests {
		if got := bar("s", tt.done, tt.total); got != tt.want {
			t.Errorf("wrong bar for %d/%d\ngot:  %#v\nwant: %#v", tt.done, tt.total, got, tt.want)
		}
	}
}

// TestProgressOffTerminal checks that off a terminal a line is printed per
// tenth of progress, not per call.
func TestProgressOffTerminal(t *testing.T) {
	var b strings.Builder
	c := newConsole(&b)
	for i := int64(0); i <= 100; i++ {
		c.progress("s", i, 100)
	}
	if n := strings.Count(b.String(), "\n"); n != 10 {
		t.Errorf("wrong number of progress lines\ngot:  %#v\nwant: %#v\n%s", n, 10, b.String())
	}
}
