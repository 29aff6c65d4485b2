package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestWatchCancelsBuild checks that a change during a build cancels it and
// starts a new one, and that changes in ignored folders do nothing.
func TestWatchCancelsBuild(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("in.txt", "1")
	write("p.hcl", `stage "fake" "a" {
  text   = "x"
  inputs = ["in.txt"]
}
`)
	if err := os.Mkdir(filepath.Join(dir, ".refeval"), 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "p.hcl")

	var mu sync.Mutex
	var builds []string // "start", "cancelled", "done"
	started := make(chan struct{}, 10)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() {
		errc <- Watch(ctx, WatchOptions{
			File: file,
			Load: func() *Pipeline {
				p, diags := Load(file, LoadOptions{Blocks: fakeBlocks, Lookup: fakeLookup})
				if diags.HasErrors() {
					return nil
				}
				return p
			},
			Build: func(ctx context.Context, p *Pipeline) {
				mu.Lock()
				n := len(builds)
				builds = append(builds, "start")
				mu.Unlock()
				started <- struct{}{}
				if n == 0 { // the first build runs until cancelled
					<-ctx.Done()
					mu.Lock()
					builds = append(builds, "cancelled")
					mu.Unlock()
					return
				}
				mu.Lock()
				builds = append(builds, "done")
				mu.Unlock()
			},
			Ignore:   func() []string { return []string{filepath.Join(dir, ".refeval")} },
			Debounce: 50 * time.Millisecond,
		})
	}()
	wait := func(what string) {
		select {
		case <-started:
		case <-time.After(10 * time.Second):
			t.Fatalf("no build started %s", what)
		}
	}
	wait("at first")
	time.Sleep(100 * time.Millisecond)
	write(".refeval/x", "ignored")
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	if len(builds) != 1 {
		t.Fatalf("a change in an ignored folder did something: %v", builds)
	}
	mu.Unlock()
	write("in.txt", "2")
	wait("after the change")
	time.Sleep(100 * time.Millisecond)
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"start", "cancelled", "start", "done"}
	if len(builds) != len(want) {
		t.Fatalf("wrong builds\ngot:  %#v\nwant: %#v", builds, want)
	}
	for i := range want {
		if builds[i] != want[i] {
			t.Fatalf("wrong builds\ngot:  %#v\nwant: %#v", builds, want)
		}
	}
}

func TestWatchLimitHint(t *testing.T) {
	tests := []struct {
		err  error
		want string // a part of the hint; "" for none
	}{
		{fmt.Errorf("inotify_add_watch: %w", syscall.ENOSPC), "fs.inotify.max_user_watches"},
		{syscall.EMFILE, "ulimit -n"},
		{os.ErrPermission, ""},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			got := watchLimitHint(tt.err)
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("wrong hint\ngot:  %#v\nwant: one holding %#v", got, tt.want)
			}
		})
	}
}
