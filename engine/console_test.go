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

// TestProgressOnTerminal checks the live bar line: drawn when a stage
// reports progress, erased before each console line and drawn again after
// it, never wider than the terminal, and gone once the stage finishes.
func TestProgressOnTerminal(t *testing.T) {
	const clear = "\r\033[K"
	var b strings.Builder
	c := newConsole(&b)
	c.tty, c.width = true, 40
	c.progress("stage.exec.a_long_stage_name", 5, 10)
	c.printf("ran    stage.exec.b (0.10s)\n")
	c.finish("stage.exec.a_long_stage_name")
	c.printf("ran    stage.exec.a_long_stage_name (1.00s)\n")
	bar := "stage.exec.a_long_stage_name [######..."
	want := bar + clear + "ran    stage.exec.b (0.10s)\n" + bar + clear + "ran    stage.exec.a_long_stage_name (1.00s)\n"
	if got := b.String(); got != want {
		t.Errorf("wrong terminal output\ngot:  %q\nwant: %q", got, want)
	}
	if len(bar) > 39 {
		t.Errorf("bar line wider than the terminal: %d columns", len(bar))
	}
}
