package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/refeval/refeval/cache"
	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/executor/remote"
	"github.com/refeval/refeval/executor/slurm"
	"github.com/refeval/refeval/internal/atomicfile"
)

var cmdRunStage = &Command{
	UsageLine: "run-stage SPEC",
	// No Short: run-stage is not listed by "refeval help"; cluster
	// executors run it, people do not.
	Long: `
Run-stage runs one stage of a pipeline as a cluster job: a Slurm job sent by
"refeval build" with a cluster executor runs it on a compute node. SPEC is
the spec.json in the job's folder under the cache folder; it names the
pipeline file, the stage, its upstream output folders and the empty folder to
fill. Run-stage never opens the cache index (the build holds it): it writes
the stage's output, its new item memos and a result with the output's digest
into the job's folder, and the build checks and commits them.
`,
}

func init() {
	cmdRunStage.Run = runRunStage
	register(cmdRunStage)
}

func runRunStage(ctx context.Context, cmd *Command, args []string) (err error) {
	if len(args) != 1 {
		return usageErrorf("want one SPEC file")
	}
	specPath, err := filepath.Abs(args[0])
	if err != nil {
		return err
	}
	defer func() {
		// The build puts this line in the stage's failure message.
		if err != nil && !errors.Is(err, errReported) {
			os.WriteFile(filepath.Join(filepath.Dir(specPath), remote.ErrorFile), []byte(err.Error()), 0o644)
		}
	}()
	spec, err := remote.ReadSpec(specPath)
	if errors.Is(err, os.ErrNotExist) {
		return remote.NotShared("job spec", specPath, err)
	}
	if err != nil {
		return err
	}
	if err := spec.Check(); err != nil {
		return err
	}
	p, err := loadPipeline(ctx, spec.Pipeline, spec.Vars)
	if err != nil {
		return err
	}
	dir := filepath.Dir(specPath)
	memo, err := remote.OpenFileMemo(filepath.Join(dir, remote.MemoInFile), filepath.Join(dir, remote.MemoOutFile))
	if err != nil {
		return err
	}
	defer memo.Close()
	host, _ := os.Hostname()
	fmt.Fprintf(os.Stderr, "refeval: running %s on %s\n", spec.Addr, host)
	rc := &engine.RunContext{
		Addr:    spec.Addr,
		Dir:     p.Dir,
		Out:     spec.Out,
		Log:     os.Stdout,
		Devices: slurm.Job(spec.GPUs).Devices(),
		Memo:    memo,
		Digest: func(path string) (string, error) {
			if !filepath.IsAbs(path) {
				path = filepath.Join(p.Dir, path)
			}
			id, err := cache.DigestPathUncached(path)
			return id.String(), err
		},
		Progress: progressFile(filepath.Join(dir, remote.ProgressRec)),
		ReadOnly: spec.ReadOnly,
		Warn:     func(msg string) { fmt.Fprintf(os.Stderr, "refeval: warning: %s: %s\n", spec.Addr, msg) },
	}
	if err := engine.RunStage(ctx, p, spec.Addr, spec.Upstream, spec.Config, rc); err != nil {
		return err // it names the stage
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%s: interrupted", spec.Addr)
	}
	id, files, err := cache.ManifestOf(spec.Out)
	if err != nil {
		return err
	}
	if err := remote.WriteResult(dir, &remote.Result{OutputID: id, Files: len(files), Host: host}); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "refeval: %s done: %d files, output %s\n", spec.Addr, len(files), id)
	return nil
}

// progressFile returns a progress function that writes the last report
// into path, at most once a second, for the build to show.
func progressFile(path string) func(done, total int64) {
	var mu sync.Mutex
	var last time.Time
	return func(done, total int64) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < time.Second && done < total {
			return
		}
		last = time.Now()
		b, _ := json.Marshal(struct{ Done, Total int64 }{done, total})
		atomicfile.WriteBytes(path, b)
	}
}
