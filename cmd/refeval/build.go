package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"

	"github.com/refeval/refeval/cache"
	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/executor/local"
	"github.com/refeval/refeval/stages"
)

var cmdBuild = &Command{
	UsageLine: "build [-j N] [-k] [--json] [--var name=value]... [--gpus N] [--executor TYPE.NAME] [--cache DIR] [--no-wait] [--remote URL] [--remote-mode M] FILE [TARGET...]",
	Short:     "build a pipeline's stages",
	Long: `
Build runs every stage of the pipeline FILE, or the TARGET stages and the
stages they need, skipping stages whose result is in the cache.

Targets are stage addresses: stage.<kind>.<name>, or
stage.<kind>.<name>["<key>"] for one instance of a for_each stage.

The -j flag sets how many stages run at once (default: the number of CPUs).
The -k flag keeps going after a failure, running every stage that does not
depend on the failed one. The --json flag prints, at the end, one JSON object
on stdout: {"ran": [...], "cached": [...], "failed": [...], "skipped": [...]}.
The --var flag sets a pipeline variable. The --gpus flag sets how many GPUs
exist (default: as many as nvidia-smi -L lists). The --executor flag runs
every stage that names no executor on the executor block TYPE.NAME (such as
slurm.gpu; see docs/executor.md); stages run locally by default.

With --remote s3://BUCKET/PREFIX (or $REFEVAL_REMOTE) a stage missing
from the local cache is looked up in the team's cache in S3-compatible
storage ($REFEVAL_REMOTE_ENDPOINT names a non-AWS store; credentials come
from the standard AWS environment and files), and what runs here is
uploaded in the background; the build waits for the uploads before it
exits. --remote-mode read only downloads, write only uploads.

The cache folder is --cache DIR, else $REFEVAL_CACHE, else .refeval next to
FILE. One refeval at a time uses a cache folder: a second one waits, or with
--no-wait fails at once.
`,
}

func init() {
	cmdBuild.Run = runBuild
	addBuildFlags(&cmdBuild.Flag, &buildFlags)
	register(cmdBuild)
}

// commonFlags are the flags shared by the commands that load a pipeline.
type commonFlags struct {
	vars     varFlag
	cacheDir string
	noWait   bool
	gpus     int
	jobs     int
	keep     bool
	json     bool
	executor string // --executor: where stages that name no executor run

	execs  map[string]engine.Executor // the executors setupExecutors made
	remote remoteFlags
}

var buildFlags commonFlags

func addLoadFlags(fs *flag.FlagSet, f *commonFlags) {
	fs.Var(&f.vars, "var", "set a pipeline variable: name=value (repeatable)")
	fs.StringVar(&f.cacheDir, "cache", "", "cache folder (default $REFEVAL_CACHE, else .refeval next to FILE)")
	fs.BoolVar(&f.noWait, "no-wait", false, "fail at once if another refeval uses the cache folder")
}

func addBuildFlags(fs *flag.FlagSet, f *commonFlags) {
	addLoadFlags(fs, f)
	fs.Var((*jobsFlag)(&f.jobs), "j", "run `N` stages at once, 1 or more (default: number of CPUs)")
	fs.BoolVar(&f.keep, "k", false, "keep going past failures where the DAG allows")
	fs.BoolVar(&f.json, "json", false, "print the outcome as JSON on stdout")
	fs.IntVar(&f.gpus, "gpus", -1, "number of GPUs (default: detected with nvidia-smi -L)")
	fs.StringVar(&f.executor, "executor", "", "run stages that name no executor on this one: TYPE.NAME of an executor block, or local")
	addRemoteFlags(fs, &f.remote)
}

// jobsFlag is -j: a whole number of stages, at least 1. Its zero value
// means unset (the number of CPUs).
type jobsFlag int

func (j *jobsFlag) String() string {
	if j == nil || *j == 0 {
		return ""
	}
	return strconv.Itoa(int(*j))
}

func (j *jobsFlag) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return fmt.Errorf("-j takes the number of stages to run at once, 1 or more, not %q", s)
	}
	*j = jobsFlag(n)
	return nil
}

// varFlag collects --var name=value flags.
type varFlag []string

func (v *varFlag) String() string { return strings.Join(*v, " ") }

func (v *varFlag) Set(s string) error {
	if name, _, ok := strings.Cut(s, "="); !ok || name == "" {
		return fmt.Errorf("want name=value, got %q", s)
	}
	*v = append(*v, s)
	return nil
}

// values returns the variables as a map; later flags win.
func (v varFlag) values() map[string]string {
	m := map[string]string{}
	for _, s := range v {
		name, val, _ := strings.Cut(s, "=")
		m[name] = val
	}
	return m
}

// errInterrupted is what a command returns when Ctrl-C or SIGTERM stops it.
var errInterrupted = errors.New("interrupted")

// unlessInterrupted runs f in a goroutine and returns its result, or
// errInterrupted as soon as ctx is cancelled, so that Ctrl-C acts at once
// in phases that do not watch ctx themselves (evaluating one large
// expression while loading, waiting for another refeval's cache lock).
// An abandoned f runs on until the process exits, so it must write
// nothing; abandon, if set, receives its result once it comes (to close a
// cache opened after all).
func unlessInterrupted[T any](ctx context.Context, f func() (T, error), abandon func(T)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := f()
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		if abandon != nil {
			go func() {
				if r := <-done; r.err == nil {
					abandon(r.v)
				}
			}()
		}
		var zero T
		return zero, errInterrupted
	}
}

// loadPipeline loads a pipeline file with the registered stage kinds and
// prints its diagnostics. It returns errReported if there are errors, and
// errInterrupted at once when ctx is cancelled.
func loadPipeline(ctx context.Context, file string, vars map[string]string) (*engine.Pipeline, error) {
	type loaded struct {
		p     *engine.Pipeline
		diags hcl.Diagnostics
	}
	l, err := unlessInterrupted(ctx, func() (loaded, error) {
		p, diags := engine.Load(file, engine.LoadOptions{Lookup: stages.Lookup, Kinds: stages.Names, Blocks: blockTypes(), Vars: vars, Context: ctx})
		return loaded{p, diags}, nil
	}, nil)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, errInterrupted
	}
	if err := printDiags(l.p, l.diags); err != nil {
		return nil, err
	}
	return l.p, nil
}

// printDiags prints diagnostics to stderr and returns errReported if any is an error.
func printDiags(p *engine.Pipeline, diags hcl.Diagnostics) error {
	if len(diags) == 0 {
		return nil
	}
	w := hcl.NewDiagnosticTextWriter(os.Stderr, p.Files, 0, false)
	w.WriteDiagnostics(diags)
	if diags.HasErrors() {
		return errReported
	}
	return nil
}

// cacheDir returns the cache folder for a pipeline.
func cacheDir(f *commonFlags, p *engine.Pipeline) string { return cacheDirNextTo(f, p.Dir) }

// cacheDirNextTo returns the cache folder for a pipeline file in folder dir:
// --cache, else $REFEVAL_CACHE, else dir/.refeval.
func cacheDirNextTo(f *commonFlags, dir string) string {
	if f.cacheDir != "" {
		return f.cacheDir
	}
	if d := os.Getenv("REFEVAL_CACHE"); d != "" {
		return d
	}
	return filepath.Join(dir, ".refeval")
}

// earlyCache is a cache folder being opened while the pipeline loads: a
// no-op build spends most of its time on the two. Only a folder that
// already exists and that no other refeval holds is opened early, so that a
// bad pipeline still creates nothing and never waits for the lock.
type earlyCache struct {
	dir  string
	done chan struct{}
	c    *cache.Cache
	err  error
}

// openEarly starts opening the cache folder that file's pipeline will use,
// if it exists; it returns nil otherwise.
func openEarly(f *commonFlags, file string) *earlyCache {
	abs, err := filepath.Abs(file)
	if err != nil {
		return nil
	}
	dir := cacheDirNextTo(f, filepath.Dir(abs))
	if fi, err := os.Stat(filepath.Join(dir, "index")); err != nil || !fi.IsDir() {
		return nil
	}
	e := &earlyCache{dir: dir, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		e.c, e.err = cache.Open(dir, cache.Options{NoWait: true})
	}()
	return e
}

// loadSelection loads the pipeline args[0] and selects the stages args[1:]
// name, opening its cache folder meanwhile when it exists (openEarly). On
// an error the early cache is dropped.
func loadSelection(ctx context.Context, f *commonFlags, args []string) (*engine.Pipeline, []*engine.Instance, *earlyCache, error) {
	early := openEarly(f, args[0])
	p, err := loadPipeline(ctx, args[0], f.vars.values())
	if err != nil {
		early.drop()
		return nil, nil, nil, err
	}
	sel, err := p.Select(args[1:])
	if err != nil {
		early.drop()
		return nil, nil, nil, err
	}
	return p, sel, early, nil
}

// take returns the open cache folder dir: the early one if it is dir and
// opened, else one opened now (waiting for another refeval unless --no-wait).
func (e *earlyCache) take(ctx context.Context, f *commonFlags, dir string) (*cache.Cache, error) {
	if e != nil {
		select {
		case <-e.done:
		case <-ctx.Done():
			go e.drop()
			return nil, errInterrupted
		}
		if e.err == nil && e.dir == dir {
			return e.c, nil
		}
		e.drop()
	}
	return openCache(ctx, f, dir)
}

// drop closes the early cache, if it was opened.
func (e *earlyCache) drop() {
	if e == nil {
		return
	}
	<-e.done
	if e.err == nil {
		e.c.Close()
	}
}

// closeCache closes c at the end of a command: with CloseForExit when the
// process exits next, which skips Badger's syncs if nothing was written.
func closeCache(c *cache.Cache) error {
	if exiting {
		return c.CloseForExit()
	}
	return c.Close()
}

// openCache opens the cache folder, waiting for another refeval unless
// --no-wait; Ctrl-C ends the wait.
func openCache(ctx context.Context, f *commonFlags, dir string) (*cache.Cache, error) {
	c, err := unlessInterrupted(ctx, func() (*cache.Cache, error) {
		return cache.Open(dir, cache.Options{
			NoWait:  f.noWait,
			Waiting: func(msg string) { fmt.Fprintf(os.Stderr, "refeval: %s\n", msg) },
		})
	}, func(c *cache.Cache) { c.Close() })
	if errors.Is(err, cache.ErrLocked) {
		return nil, fmt.Errorf("%w; wait for it to finish, drop --no-wait to wait for it, or pass --cache DIR to use another folder", err)
	}
	return c, err
}

// devicesFor returns the local executor's devices for a build of sel:
// --gpus N gives 0..N-1, else the local executor's DeviceSource finds them
// (executor/local), not asked (nvidia-smi can take a good part of a second)
// when no stage asks for a GPU.
func devicesFor(f *commonFlags, sel []*engine.Instance) engine.DeviceList {
	if f.gpus >= 0 {
		return engine.FirstDevices(f.gpus)
	}
	for _, in := range sel {
		if in.GPUs > 0 {
			return local.GPUs{}.Devices()
		}
	}
	return nil
}

func runBuild(ctx context.Context, cmd *Command, args []string) error {
	if len(args) < 1 {
		return usageErrorf("missing pipeline FILE")
	}
	f := &buildFlags
	p, sel, early, err := loadSelection(ctx, f, args)
	if err != nil {
		return err
	}
	if err := setupExecutors(f, p, [][]*engine.Instance{sel}); err != nil {
		early.drop()
		return err
	}
	local := localStages(f, sel)
	devs := devicesFor(f, local)
	if err := printDiags(p, engine.CheckDevices(local, len(devs))); err != nil {
		early.drop()
		return err
	}
	c, err := early.take(ctx, f, cacheDir(f, p))
	if err != nil {
		return err
	}
	defer closeCache(c)
	rep := build(ctx, c, f, devs, []engine.Selection{{Pipeline: p, Stages: sel}})
	return finishBuild(ctx, rep, f)
}

// build runs a build with the flags' settings.
func build(ctx context.Context, c *cache.Cache, f *commonFlags, devs engine.DeviceList, sels []engine.Selection) *engine.Report {
	opt := engine.BuildOptions{
		Cache: c, Jobs: f.jobs, Devices: devs, KeepGoing: f.keep, Console: os.Stderr,
		Debug:     engine.ParseDebug(os.Getenv("REFEVAL_DEBUG")),
		Executors: f.execs, DefaultExecutor: f.executor,
	}
	r, err := openRemote(ctx, c, &f.remote)
	if err != nil {
		fmt.Fprintf(os.Stderr, "refeval: warning: %v; building with the local cache only\n", err)
	}
	if r != nil {
		opt.Remote = engineRemote{r}
		defer finishUploads(ctx, r)
	}
	return engine.Build(ctx, sels, opt)
}

// finishBuild prints the summary (and JSON) and returns the build's error.
func finishBuild(ctx context.Context, rep *engine.Report, f *commonFlags) error {
	s := rep.Summary()
	n := rep.Counts()
	remote := ""
	if n[engine.StatusRemote] > 0 {
		remote = fmt.Sprintf(", %d from the remote", n[engine.StatusRemote])
	}
	fmt.Fprintf(os.Stderr, "refeval: %d ran, %d cached%s, %d failed, %d skipped\n", n[engine.StatusRan], n[engine.StatusCached], remote, n[engine.StatusFailed], n[engine.StatusSkipped])
	if f.json {
		out, err := json.Marshal(s)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stdout, "%s\n", out)
	}
	if ctx.Err() != nil {
		return errInterrupted
	}
	return rep.Err()
}
