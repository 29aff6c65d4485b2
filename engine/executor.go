package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/refeval/refeval/cache"
)

// An Executor runs one stage instance whose ActionID is not in the cache:
// it fills t.Out and returns nil, or returns why it could not. The walk
// calls it and stays the only writer of the cache: it commits t.Out after
// Run returns nil, and discards it otherwise. An executor's settings never
// enter an ActionID, so the same stage gives the same OutputID on every
// executor.
type Executor interface {
	Run(ctx context.Context, t *Task) error
}

// A Cluster is an Executor that runs stages on machines of its own (Slurm
// jobs; Kubernetes Jobs or Ray tasks would be others). The build's -j and
// its local device ids do not apply to the cluster's stages: at most
// MaxJobs of them run at once, each with the devices the cluster grants.
// When a stage fails without -k, the walk cancels the context of every
// running cluster stage, so that no job of the build is left queued.
type Cluster interface {
	Executor
	MaxJobs() int
}

// LocalExecutor runs stages in the refeval process (or as its children, for
// exec stages): what a build does unless a stage names another executor.
type LocalExecutor struct{}

// Run decodes the stage with its upstream folders and runs it.
func (LocalExecutor) Run(ctx context.Context, t *Task) error {
	st, err := t.Stage()
	if err != nil {
		return err
	}
	return safeRun(ctx, st, &t.RunContext)
}

// A Task is one stage run handed to an executor.
type Task struct {
	// RunContext is what the stage receives: Out is a fresh folder under
	// the cache folder, Log the stage's log file.
	RunContext
	// Name is the console's name for the stage.
	Name string
	// Pipeline and Instance are the stage instance.
	Pipeline *Pipeline
	Instance *Instance
	// Action is the stage's ActionID.
	Action cache.ID
	// Config holds the canonical configuration that entered the ActionID
	// (attribute → JSON), so that a remote run can check it decoded the
	// same stage.
	Config map[string]string
	// Upstream holds each upstream instance's output, by address.
	Upstream map[string]Upstream
	// LogPath is the path of the file Log writes to.
	LogPath string
	// Cache is the open cache folder.
	Cache *cache.Cache
	// OutputID, when an executor sets it, is the OutputID the remote side
	// computed for what it wrote into Out; the walk fails the stage if the
	// committed output differs (a file changed or was not fully visible).
	OutputID cache.ID
	// State reports an executor's own state for the stage, such as
	// "job 42 PENDING"; the console prints each change.
	State func(state string)

	action *action
}

// Upstream is one finished upstream stage: its OutputID and folder.
type Upstream struct {
	OutputID cache.ID `json:"output_id"`
	Dir      string   `json:"dir"`
}

// Stage decodes the task's stage with its upstream stages' real folders.
func (t *Task) Stage() (Stage, error) { return t.action.stage() }

// executorOf returns the executor that runs in and its name ("local" for
// the local one). The executor is nil when the build was not given the one
// the stage names: the stage fails rather than run on the wrong machine.
func (b *builder) executorOf(in *Instance) (Executor, string) {
	name := RunsOn(in.Executor, b.opt.DefaultExecutor)
	if name == "local" {
		return LocalExecutor{}, name
	}
	return b.opt.Executors[name], name
}

// RunsOn returns the executor a stage runs on: named, the one its block
// names (Instance.Executor), else def, the build's default (--executor),
// else "local".
func RunsOn(named, def string) string {
	switch {
	case named != "":
		return named
	case def != "":
		return def
	}
	return "local"
}

// admit decides whether n can start now. Local stages take one of the -j
// slots and their device slots from free; cluster stages take one of their
// cluster's MaxJobs slots. It returns an error for a stage that can never
// start.
func (b *builder) admit(n *node, free []bool) (devs []int, ok bool, err error) {
	ex, name := b.executorOf(n.res.Instance)
	if ex == nil {
		return nil, false, fmt.Errorf("%s runs on executor %s, which this build has not set up: pass its executor in BuildOptions.Executors (refeval build sets up every executor block of the pipeline)", n.res.Instance.Addr, name)
	}
	if cl, isCluster := ex.(Cluster); isCluster {
		if b.clusterRunning[name] >= max(1, cl.MaxJobs()) {
			return nil, false, nil
		}
		b.clusterRunning[name]++
		return nil, true, nil
	}
	if b.localRunning >= b.opt.Jobs {
		return nil, false, nil
	}
	want := n.res.Instance.GPUs
	if d := CheckDevices([]*Instance{n.res.Instance}, len(b.devices)); d.HasErrors() {
		// The same error as at load time (cmd/refeval checks there), with
		// the gpus line and what to do, for callers that did not check.
		return nil, false, errors.New(diagText(d))
	}
	devs = takeDevices(free, want)
	if devs == nil && want > 0 {
		return nil, false, nil
	}
	b.localRunning++
	return devs, true, nil
}

// full reports whether no stage could be admitted now: every -j slot is
// taken and so is every slot of each cluster executor the build was given.
func (b *builder) full() bool {
	if b.localRunning < b.opt.Jobs {
		return false
	}
	for name, ex := range b.opt.Executors {
		if cl, ok := ex.(Cluster); ok && b.clusterRunning[name] < max(1, cl.MaxJobs()) {
			return false
		}
	}
	return true
}

// release gives back what admit took for n.
func (b *builder) release(n *node, devs []int, free []bool) {
	for _, d := range devs {
		free[d] = true
	}
	ex, name := b.executorOf(n.res.Instance)
	if _, isCluster := ex.(Cluster); isCluster {
		b.clusterRunning[name]--
		return
	}
	b.localRunning--
}

// runContext returns the context n's executor runs under: for cluster
// stages one that the walk cancels when a stage fails without -k.
func (b *builder) runContext(ctx context.Context, n *node) context.Context {
	if ex, _ := b.executorOf(n.res.Instance); isCluster(ex) {
		return b.clusterCtx
	}
	return ctx
}

func isCluster(ex Executor) bool {
	_, ok := ex.(Cluster)
	return ok
}
