package engine

import (
	"os"
	"path/filepath"
	"slices"
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
	// Every bar line drawn (what an erasure erases) fits the 40 columns.
	pieces := strings.Split(b.String(), clear)
	for _, p := range pieces[:len(pieces)-1] {
		drawn := p[strings.LastIndex(p, "\n")+1:]
		if n := len([]rune(drawn)); n > 39 {
			t.Errorf("bar line wider than the terminal\ngot:  %d columns %q\nwant: at most 39", n, drawn)
		}
	}
}

func TestLogTail(t *testing.T) {
	long := strings.Repeat("x", 1000) + "\n"
	tests := []struct {
		name string
		text string
		n    int
		want []string
	}{
		{"empty", "", 3, nil},
		{"fewer lines than n", "a\nb\n", 3, []string{"a", "b"}},
		{"last n", "a\nb\nc\nd\n", 2, []string{"c", "d"}},
		{"no final newline", "a\nb", 5, []string{"a", "b"}},
		{"crlf", "a\r\nb\r\n", 5, []string{"a", "b"}},
		{"big log", strings.Repeat(long, 500) + "end1\nend2\n", 3, []string{strings.TrimSuffix(long, "\n"), "end1", "end2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log")
			if err := os.WriteFile(path, []byte(tt.text), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := logTail(path, tt.n); !slices.Equal(got, tt.want) {
				t.Errorf("wrong tail\ngot:  %q\nwant: %q", got, tt.want)
			}
		})
	}
	if got := logTail(filepath.Join(t.TempDir(), "missing"), 3); got != nil {
		t.Errorf("wrong tail of a missing log\ngot:  %q\nwant: nil", got)
	}
}
