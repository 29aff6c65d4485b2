package engine

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// console prints a build's progress: one line when a stage starts and one
// when it finishes, and, on a terminal, a live line of progress bars for
// the running stages that report progress.
type console struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	width    int // terminal columns; the bar line stays shorter, so that it never wraps
	bars     map[string][2]int64
	deciles  map[string]int64 // off a terminal: the last tenth printed per stage
	barShown bool
	lastDraw time.Time
}

func newConsole(w io.Writer) *console {
	if w == nil {
		w = io.Discard
	}
	c := &console{w: w, bars: map[string][2]int64{}, deciles: map[string]int64{}}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 && os.Getenv("TERM") != "dumb" {
			c.tty = true
			c.width = termWidth(f)
		}
	}
	return c
}

// printf prints one line above the progress bars.
func (c *console) printf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clearBars()
	fmt.Fprintf(c.w, format, args...)
	c.drawBars()
}

// progress records a stage's progress and redraws the bars (at most ten
// times a second). Off a terminal it prints a line each time a stage passes
// another tenth of its total, so that logs show progress without flooding.
func (c *console) progress(addr string, done, total int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bars[addr] = [2]int64{done, total}
	if !c.tty {
		if total > 0 {
			if d := done * 10 / total; d > c.deciles[addr] {
				c.deciles[addr] = d
				fmt.Fprintf(c.w, "%s\n", bar(addr, done, total))
			}
		}
		return
	}
	if time.Since(c.lastDraw) < 100*time.Millisecond {
		return
	}
	c.clearBars()
	c.drawBars()
}

// finish forgets a stage's bar.
func (c *console) finish(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.bars, addr)
	delete(c.deciles, addr)
}

func (c *console) clearBars() {
	if c.barShown {
		fmt.Fprint(c.w, "\r\033[K")
		c.barShown = false
	}
}

func (c *console) drawBars() {
	if !c.tty || len(c.bars) == 0 {
		return
	}
	addrs := make([]string, 0, len(c.bars))
	for a := range c.bars {
		addrs = append(addrs, a)
	}
	sort.Strings(addrs)
	var parts []string
	for _, a := range addrs {
		parts = append(parts, bar(a, c.bars[a][0], c.bars[a][1]))
	}
	line := strings.Join(parts, "  ")
	// A line that wraps could not be erased by "\r\033[K" alone, so the bar
	// line is cut to the terminal's width (80 columns if unknown).
	width := c.width
	if width <= 0 {
		width = 80
	}
	if r := []rune(line); len(r) > width-1 {
		line = string(r[:max(0, width-4)]) + "..."
	}
	fmt.Fprint(c.w, line)
	c.barShown = true
	c.lastDraw = time.Now()
}

// bar renders "addr [#####     ] 50/100".
func bar(addr string, done, total int64) string {
	const width = 20
	if total <= 0 {
		return fmt.Sprintf("%s %d", addr, done)
	}
	n := int(done * width / total)
	n = max(0, min(width, n))
	return fmt.Sprintf("%s [%s%s] %d/%d", addr, strings.Repeat("#", n), strings.Repeat(" ", width-n), done, total)
}

// logTail returns the last n lines of a log file, reading only its last
// 64 kB (a training stage's log can be gigabytes).
func logTail(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	const maxBytes = 64 << 10
	off := max(0, fi.Size()-maxBytes)
	data := make([]byte, fi.Size()-off)
	k, err := f.ReadAt(data, off)
	if err != nil && err != io.EOF {
		return nil
	}
	text := strings.TrimSuffix(string(data[:k]), "\n")
	if text == "" {
		return nil
	}
	lines := strings.Split(text, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }
