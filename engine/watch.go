package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
)

// InputPaths returns the absolute paths of the pipeline file and of every
// input file or folder its stages declare (upstream outputs excluded).
func (p *Pipeline) InputPaths() []string {
	set := map[string]bool{p.File: true}
	for _, in := range p.Stages {
		if in.stage == nil {
			continue
		}
		for _, path := range in.stage.Inputs() {
			if isPending(path) {
				continue
			}
			if !filepath.IsAbs(path) {
				path = filepath.Join(p.Dir, path)
			}
			set[filepath.Clean(path)] = true
		}
	}
	out := make([]string, 0, len(set))
	for path := range set {
		out = append(out, path)
	}
	sort.Strings(out)
	return out
}

// WatchOptions says how to watch a pipeline.
type WatchOptions struct {
	// File is the pipeline file, watched even when it fails to load.
	File string
	// Load loads the pipeline; it prints its own diagnostics and returns
	// nil when the pipeline has errors.
	Load func() *Pipeline
	// Build builds a loaded pipeline until done or ctx is cancelled.
	Build func(ctx context.Context, p *Pipeline)
	// Ignore returns folders whose changes never trigger a build (the
	// cache folder); it is called after each Load.
	Ignore func() []string
	// Debounce is how long the files must be quiet before a rebuild
	// (default 200ms).
	Debounce time.Duration
	// Console receives "watching" messages.
	Console io.Writer
}

// Watch builds the pipeline, then rebuilds it whenever the pipeline file or
// an input of a stage changes, until ctx is cancelled. A change during a
// build cancels that build and starts again (after the debounce).
func Watch(ctx context.Context, opt WatchOptions) error {
	if opt.Debounce <= 0 {
		opt.Debounce = 200 * time.Millisecond
	}
	if opt.Console == nil {
		opt.Console = io.Discard
	}
	file, _ := filepath.Abs(opt.File)
	for {
		p := opt.Load()
		paths := []string{file}
		if p != nil {
			paths = p.InputPaths()
		}
		var ignore []string
		if opt.Ignore != nil {
			ignore = opt.Ignore()
		}
		w, err := newWatcher(paths, ignore)
		if err != nil {
			return err
		}
		buildCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		if p != nil {
			go func() { defer close(done); opt.Build(buildCtx, p) }()
		} else {
			close(done)
		}
		changed, err := w.wait(ctx, done, opt.Debounce, func() {
			fmt.Fprintf(opt.Console, "refeval: watching %d paths for changes (Ctrl-C to stop)\n", len(paths))
		})
		cancel()
		<-done
		w.close()
		if err != nil {
			return err
		}
		if ctx.Err() != nil {
			return nil
		}
		fmt.Fprintf(opt.Console, "refeval: %s changed; building again\n", changed)
	}
}

// watcher watches files (through their folders, since editors replace
// files by renaming) and folders (recursively).
type watcher struct {
	fw      *fsnotify.Watcher
	files   map[string]bool
	folders []string
	ignore  []string
}

func newWatcher(paths, ignore []string) (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("watch: %w%s", err, watchLimitHint(err))
	}
	w := &watcher{fw: fw, files: map[string]bool{}}
	for _, ig := range ignore {
		if abs, err := filepath.Abs(ig); err == nil {
			w.ignore = append(w.ignore, abs+string(filepath.Separator))
		}
	}
	dirs := map[string]bool{}
	for _, path := range paths {
		fi, err := os.Stat(path)
		if err == nil && fi.IsDir() {
			w.folders = append(w.folders, path+string(filepath.Separator))
			filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.IsDir() {
					if w.ignored(p + string(filepath.Separator)) {
						return filepath.SkipDir
					}
					dirs[p] = true
				}
				return nil
			})
			continue
		}
		w.files[path] = true
		dirs[filepath.Dir(path)] = true
	}
	for d := range dirs {
		if err := fw.Add(d); err != nil {
			fw.Close()
			return nil, fmt.Errorf("watch %s: %w%s", d, err, watchLimitHint(err))
		}
	}
	return w, nil
}

// watchLimitHint explains the errors of a system out of file watches, whose
// own text ("no space left on device") misleads.
func watchLimitHint(err error) string {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return " (the system's limit of watched folders is reached: raise it, as with sysctl fs.inotify.max_user_watches=524288, or give the stages fewer input folders)"
	case errors.Is(err, syscall.EMFILE):
		return " (too many watchers or open files: raise the limit, as with sysctl fs.inotify.max_user_instances=1024 or ulimit -n, or stop other watchers)"
	}
	return ""
}

func (w *watcher) close() { w.fw.Close() }

func (w *watcher) ignored(path string) bool {
	for _, ig := range w.ignore {
		if strings.HasPrefix(path, ig) {
			return true
		}
	}
	return false
}

// relevant says whether an event concerns a watched file or folder.
func (w *watcher) relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod || w.ignored(ev.Name) {
		return false
	}
	if w.files[ev.Name] {
		return true
	}
	for _, f := range w.folders {
		if strings.HasPrefix(ev.Name, f) || ev.Name+string(filepath.Separator) == f {
			if ev.Op&fsnotify.Create != 0 {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					w.fw.Add(ev.Name) // a new folder inside a watched one
				}
			}
			return true
		}
	}
	return false
}

// wait returns the first changed path once the files have been quiet for
// the debounce time, or "" when ctx is done. idle is called when the build
// finishes without a change.
func (w *watcher) wait(ctx context.Context, done <-chan struct{}, debounce time.Duration, idle func()) (string, error) {
	var changed string
	var timer *time.Timer
	var fire <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return "", nil
		case <-done:
			done = nil
			if changed == "" {
				idle()
			}
		case ev, ok := <-w.fw.Events:
			if !ok {
				return "", nil
			}
			if !w.relevant(ev) {
				continue
			}
			if changed == "" {
				changed = ev.Name
			}
			if timer == nil {
				timer = time.NewTimer(debounce)
			} else {
				timer.Reset(debounce)
			}
			fire = timer.C
		case err, ok := <-w.fw.Errors:
			if ok {
				return "", fmt.Errorf("watch: %w", err)
			}
		case <-fire:
			return changed, nil
		}
	}
}
