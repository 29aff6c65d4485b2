package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/refeval/refeval/cache"
)

// BuildOptions says how to run a build.
type BuildOptions struct {
	// Cache is the open cache folder.
	Cache *cache.Cache
	// Jobs is how many stages run at once; 0 means the number of CPUs.
	Jobs int
	// Devices supplies the local executor's devices; stages with gpus = N
	// that run locally get N distinct ids from it. Nil: none.
	Devices DeviceSource
	// KeepGoing runs every stage that does not depend on a failed one,
	// instead of stopping at the first failure (make -k).
	KeepGoing bool
	// Console receives progress lines (os.Stderr); nil discards them.
	Console io.Writer
	// Debug holds the REFEVAL_DEBUG switches.
	Debug Debug
	// Executors holds the executors stages may name, by name ("slurm.gpu");
	// stages that name none run on DefaultExecutor, and on the local
	// executor when that is empty or "local".
	Executors       map[string]Executor
	DefaultExecutor string
	// Remote, if set, is asked on every local miss and receives every
	// result that ran (cache/remote).
	Remote Remote
	// NoRun makes a stage found in neither cache skipped instead of run
	// (`refeval cache pull`).
	NoRun bool
}

// Debug holds the REFEVAL_DEBUG switches (cmd/go's GODEBUG-like flags).
type Debug struct {
	// CacheHash prints every line hashed into an ActionID.
	CacheHash bool
	// CacheVerify reruns deterministic stages found in the cache and fails
	// if their output changed.
	CacheVerify bool
	// NoSandbox leaves upstream outputs writable for exec commands (no
	// read-only mount); the check after each stage still runs.
	NoSandbox bool
}

// ParseDebug reads a REFEVAL_DEBUG value such as "cachehash=1,cacheverify=1".
func ParseDebug(s string) Debug {
	var d Debug
	for _, f := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		on := v == "1" || v == "true"
		switch k {
		case "cachehash":
			d.CacheHash = on
		case "cacheverify":
			d.CacheVerify = on
		case "nosandbox":
			d.NoSandbox = on
		}
	}
	return d
}

// Status is what happened to a stage instance in a build.
type Status string

// The statuses of a stage instance after a build.
const (
	StatusRan     Status = "ran"     // it ran and its output was committed
	StatusCached  Status = "cached"  // its output was in the cache
	StatusRemote  Status = "remote"  // its output was fetched from the remote cache
	StatusFailed  Status = "failed"  // it failed, or was interrupted
	StatusSkipped Status = "skipped" // it did not run because an upstream stage failed or the build stopped
)

// A Result is the outcome of one stage instance.
type Result struct {
	Pipeline *Pipeline
	Instance *Instance
	Label    string // the selection's label
	Status   Status
	Action   cache.ID      // zero if the ActionID was never computed
	OutputID cache.ID      // for ran and cached stages
	Out      string        // the output folder, for ran and cached stages
	Duration time.Duration // how long it ran
	Err      error         // for failed stages
}

// A Selection is the instances of one pipeline to build (Pipeline.Select).
type Selection struct {
	Pipeline *Pipeline
	Stages   []*Instance
	// Label tells selections of one build apart on the console (a sweep's
	// grid point, such as "beta=0.1 prompt=base"); empty for one pipeline.
	Label string
}

// A Report is the outcome of a build.
type Report struct {
	// Results holds one result per selected instance, in selection order.
	Results []*Result
}

// Summary lists addresses by status; it is what `build --json` prints.
type Summary struct {
	Ran     []string `json:"ran"`
	Cached  []string `json:"cached"`
	Failed  []string `json:"failed"`
	Skipped []string `json:"skipped"`
	Remote  []string `json:"remote,omitempty"`
}

// Summary returns the addresses of the report's stages by status, sorted,
// each address once.
func (r *Report) Summary() Summary {
	s := Summary{Ran: []string{}, Cached: []string{}, Failed: []string{}, Skipped: []string{}}
	seen := map[string]bool{}
	for _, res := range r.Results {
		key := string(res.Status) + " " + res.Instance.Addr
		if seen[key] {
			continue
		}
		seen[key] = true
		switch res.Status {
		case StatusRan:
			s.Ran = append(s.Ran, res.Instance.Addr)
		case StatusCached:
			s.Cached = append(s.Cached, res.Instance.Addr)
		case StatusRemote:
			s.Remote = append(s.Remote, res.Instance.Addr)
		case StatusFailed:
			s.Failed = append(s.Failed, res.Instance.Addr)
		default:
			s.Skipped = append(s.Skipped, res.Instance.Addr)
		}
	}
	for _, l := range [][]string{s.Ran, s.Cached, s.Failed, s.Skipped, s.Remote} {
		sort.Strings(l)
	}
	return s
}

// Counts returns how many results have each status (a sweep counts a
// stage once per grid point).
func (r *Report) Counts() map[Status]int {
	m := map[Status]int{}
	for _, res := range r.Results {
		m[res.Status]++
	}
	return m
}

// Err returns an error naming the failed stages, or nil.
func (r *Report) Err() error {
	var failed []string
	for _, res := range r.Results {
		if res.Status == StatusFailed {
			failed = append(failed, res.Instance.Addr)
		}
	}
	switch len(failed) {
	case 0:
		return nil
	case 1:
		return fmt.Errorf("stage %s failed", failed[0])
	}
	return fmt.Errorf("%d stages failed: %s", len(failed), strings.Join(failed, ", "))
}

// node is one instance in the walk (cmd/go's Action: pending-dep count and
// the list of nodes it triggers).
type node struct {
	res        *Result
	deps       []*node
	dependents []*node
	pending    int
	blocked    bool // an upstream failed or was skipped
	prio       int  // longest path to a sink: run long chains first
	order      int
	done       bool
	followers  []*node // nodes with the same ActionID waiting for this one
}

type outcome struct {
	n      *node
	leader *node // set when n's ActionID is already being run by leader
	devs   []int
}

type builder struct {
	opt     BuildOptions
	con     *console
	mu      sync.Mutex
	leaders map[cache.ID]*node
	corrupt map[cache.ID]bool
	seals   seals // outputs in use, and those a stage changed (seal.go)
	devices []int // the local executor's device ids (opt.Devices)

	localRunning   int             // local stages running (at most opt.Jobs)
	clusterRunning map[string]int  // cluster stages running, per cluster name
	clusterCtx     context.Context // cancelled when the build stops after a failure
	stopClusters   context.CancelFunc
}

// Build runs the selected stages and everything they need, in parallel,
// skipping those whose ActionID is in the cache. A stage runs once its
// upstream stages have finished; a failure skips its downstream stages and,
// without KeepGoing, stops starting new ones. Cancelling ctx interrupts
// running stages; nothing they wrote is committed.
func Build(ctx context.Context, sels []Selection, opt BuildOptions) *Report {
	if opt.Jobs <= 0 {
		opt.Jobs = runtime.NumCPU()
	}
	b := &builder{opt: opt, con: newConsole(opt.Console), leaders: map[cache.ID]*node{}, corrupt: map[cache.ID]bool{}, clusterRunning: map[string]int{}}
	b.clusterCtx, b.stopClusters = context.WithCancel(ctx)
	defer b.stopClusters()
	rep := &Report{}
	var nodes []*node
	for _, sel := range sels {
		byInst := map[*Instance]*node{}
		for _, in := range sel.Stages {
			n := &node{res: &Result{Pipeline: sel.Pipeline, Instance: in, Label: sel.Label}, order: len(nodes)}
			byInst[in] = n
			nodes = append(nodes, n)
			rep.Results = append(rep.Results, n.res)
		}
		for _, in := range sel.Stages {
			n := byInst[in]
			for _, d := range in.Deps {
				dn, ok := byInst[d]
				if !ok {
					continue // Select always includes dependencies
				}
				n.deps = append(n.deps, dn)
				dn.dependents = append(dn.dependents, n)
			}
			n.pending = len(n.deps)
		}
	}
	setPriorities(nodes)

	if opt.Devices != nil {
		b.devices = opt.Devices.Devices()
	}
	w := &walker{b: b, ctx: ctx, free: make([]bool, len(b.devices)), results: make(chan outcome)}
	for i := range w.free {
		w.free[i] = true
	}
	for _, n := range nodes {
		if n.pending == 0 {
			w.push(n)
		}
	}
	w.walk()
	for _, n := range nodes {
		if !n.done {
			n.done = true
			n.res.Status = StatusSkipped
		}
	}

	// Record the build for gc: every action it used, per pipeline.
	used := map[string][]cache.ID{}
	for _, r := range rep.Results {
		if r.Status.ok() && r.Action != (cache.ID{}) {
			used[r.Pipeline.File] = append(used[r.Pipeline.File], r.Action)
		}
	}
	if opt.Cache != nil {
		for _, p := range sortedKeys(used) {
			if err := opt.Cache.RecordBuild(p, used[p]); err != nil {
				b.con.printf("refeval: %v\n", err)
			}
		}
		// Trim what no recent build used, at most once a day (go build
		// does the same with its cache); a failure only costs disk space.
		_, _, err := opt.Cache.TrimIfDue(cache.GCOptions{KeepBuilds: cache.DefaultKeepBuilds, OlderThan: cache.DefaultOlderThan})
		if err != nil {
			b.con.printf("refeval: trimming the cache: %v\n", err)
		}
	}
	return rep
}

// A walker schedules the nodes of one Build: ready nodes start, highest
// priority first, as devices and slots allow (builder.admit); a finished
// node completes its followers and releases its dependents.
type walker struct {
	b        *builder
	ctx      context.Context
	ready    []*node
	free     []bool // GPUs not granted to a running stage
	results  chan outcome
	running  int
	stopping bool // a stage failed without KeepGoing: start nothing more
}

// walk runs until no node is running and none can start.
func (w *walker) walk() {
	for {
		if !w.stopping && w.ctx.Err() == nil {
			w.start()
		}
		if w.running == 0 {
			return
		}
		o := <-w.results
		w.running--
		w.b.release(o.n, o.devs, w.free)
		if o.leader != nil {
			if o.leader.done {
				w.follow(o.n, o.leader)
			} else {
				o.leader.followers = append(o.leader.followers, o.n)
			}
			continue
		}
		w.complete(o.n, o.n.res.Status, o.n.res.Err)
	}
}

// push adds a node that became ready, keeping w.ready in the order nodes
// start in: higher priority first, then pipeline order. Kept sorted as it
// grows, so that start need not sort it on every finished stage.
func (w *walker) push(n *node) {
	i, _ := slices.BinarySearchFunc(w.ready, n, func(a, b *node) int {
		if a.prio != b.prio {
			return cmp.Compare(b.prio, a.prio)
		}
		return cmp.Compare(a.order, b.order)
	})
	w.ready = slices.Insert(w.ready, i, n)
}

// start starts every ready node that can be admitted now, in w.ready's
// order. It stops at the first node once no executor has a free slot, so
// that a long ready list costs only what starts.
func (w *walker) start() {
	for i := 0; i < len(w.ready) && !w.b.full(); {
		n := w.ready[i]
		devs, ok, err := w.b.admit(n, w.free)
		if err != nil {
			w.ready = append(w.ready[:i], w.ready[i+1:]...)
			w.complete(n, StatusFailed, err)
			w.b.con.printf("FAILED %s: %v\n", n.res.name(), n.res.Err)
			continue
		}
		if !ok {
			i++
			continue
		}
		w.ready = append(w.ready[:i], w.ready[i+1:]...)
		w.running++
		go func() { w.results <- w.b.work(w.ctx, n, devs) }()
	}
}

// follow completes f, which has the same ActionID as the finished leader
// l, with l's result: l's output counts as cached for f.
func (w *walker) follow(f, l *node) {
	f.res.Action = l.res.Action
	if l.res.Status.ok() {
		f.res.OutputID, f.res.Out = l.res.OutputID, l.res.Out
		w.complete(f, StatusCached, nil)
	} else {
		w.complete(f, l.res.Status, l.res.Err)
	}
}

// complete records n's end, completes its followers and releases its
// dependents: ready when their last upstream finished, skipped when one
// failed or was skipped.
func (w *walker) complete(n *node, st Status, err error) {
	if n.done {
		return
	}
	n.done = true
	n.res.Status, n.res.Err = st, err
	for _, f := range n.followers {
		w.follow(f, n)
	}
	if st == StatusFailed && !w.b.opt.KeepGoing {
		w.stopping = true
		w.b.stopClusters()
	}
	for _, d := range n.dependents {
		d.pending--
		if !st.ok() {
			d.blocked = true
		}
		if d.pending == 0 {
			if d.blocked {
				w.complete(d, StatusSkipped, nil)
			} else {
				w.push(d)
			}
		}
	}
}

// setPriorities gives each node the length of its longest path to a node
// nothing depends on, so that long chains start first.
func setPriorities(nodes []*node) {
	memo := map[*node]int{}
	var height func(n *node) int
	height = func(n *node) int {
		if h, ok := memo[n]; ok {
			return h
		}
		h := 0
		for _, d := range n.dependents {
			h = max(h, 1+height(d))
		}
		memo[n] = h
		return h
	}
	for _, n := range nodes {
		n.prio = height(n)
	}
}

// deviceIDs returns the device ids of the slots takeDevices claimed.
func (b *builder) deviceIDs(slots []int) []int {
	if slots == nil {
		return nil
	}
	ids := make([]int, len(slots))
	for i, s := range slots {
		ids[i] = b.devices[s]
	}
	return ids
}

// takeDevices claims n free device slots (positions in the device list),
// lowest first, or returns nil.
func takeDevices(free []bool, n int) []int {
	if n == 0 {
		return nil
	}
	var ids []int
	for i, f := range free {
		if f {
			ids = append(ids, i)
			if len(ids) == n {
				break
			}
		}
	}
	if len(ids) < n {
		return nil
	}
	for _, i := range ids {
		free[i] = false
	}
	return ids
}

// work finds one instance in the cache or runs it. It fills n.res except
// for the final status bookkeeping, which the walk does.
func (b *builder) work(ctx context.Context, n *node, devs []int) outcome {
	res := n.res
	in, p := res.Instance, res.Pipeline
	c := b.opt.Cache
	fail := func(err error) outcome {
		res.Status, res.Err = StatusFailed, err
		b.con.printf("FAILED %s: %v\n", res.name(), err)
		return outcome{n: n, devs: devs}
	}
	ups := map[*Instance]upstreamOut{}
	for _, d := range n.deps {
		ups[d.res.Instance] = upstreamOut{id: d.res.OutputID, dir: d.res.Out}
	}
	var debug io.Writer
	if b.opt.Debug.CacheHash {
		debug = lockedWriter{b.con}
	}
	a, err := p.computeAction(c, in, ups, debug)
	if err != nil {
		return fail(err)
	}
	res.Action = a.id

	b.mu.Lock()
	if l, ok := b.leaders[a.id]; ok && l != n {
		b.mu.Unlock()
		return outcome{n: n, leader: l, devs: devs}
	}
	b.leaders[a.id] = n
	b.mu.Unlock()

	e, l, why, err := lookupAction(c, a.id)
	if err != nil {
		return fail(err)
	}
	switch l {
	case lookupHit:
		if b.opt.Debug.CacheVerify && !in.Kind.NonDeterministic {
			return b.verify(ctx, n, a, e, devs)
		}
		if err := c.TouchEntry(a.id, e); err != nil {
			return fail(err)
		}
		b.seals.add(e.OutputID, e.Files, in.Addr)
		res.Status, res.OutputID, res.Out = StatusCached, e.OutputID, c.OutputDir(e.OutputID)
		b.con.printf("cached %s\n", res.name())
		return outcome{n: n, devs: devs}
	case lookupDamaged:
		b.mu.Lock()
		first := !b.corrupt[a.id]
		b.corrupt[a.id] = true
		b.mu.Unlock()
		if first {
			b.con.printf("refeval: %s: cached output is damaged (%v); running it again\n", res.name(), why)
		}
	}
	if b.opt.Remote != nil {
		e, err := b.opt.Remote.Fetch(ctx, a.id, p.File, in.Addr)
		if err == nil {
			b.seals.add(e.OutputID, e.Files, in.Addr)
			res.Status, res.OutputID, res.Out = StatusRemote, e.OutputID, c.OutputDir(e.OutputID)
			b.con.printf("remote %s\n", res.name())
			return outcome{n: n, devs: devs}
		}
		if !errors.Is(err, cache.ErrNotFound) {
			return fail(err)
		}
	}
	if b.opt.NoRun {
		res.Status = StatusSkipped
		b.con.printf("missing %s (in neither cache)\n", res.name())
		return outcome{n: n, devs: devs}
	}

	runCtx := b.runContext(ctx, n)
	oid, files, dur, err := b.runSealed(runCtx, n, a, devs)
	res.Duration = dur
	if err != nil && ctx.Err() == nil && runCtx.Err() != nil {
		// Cancelled because another stage failed (no -k): not a failure of its own.
		res.Status = StatusSkipped
		b.con.printf("cancelled %s: another stage failed\n", res.name())
		return outcome{n: n, devs: devs}
	}
	if err != nil {
		return fail(err)
	}
	entry, err := newEntry(a, oid, files)
	if err != nil {
		return fail(err)
	}
	entry.Duration = dur
	if err := c.Put(a.id, entry); err != nil {
		return fail(err)
	}
	b.seals.add(oid, files, in.Addr)
	if b.opt.Remote != nil {
		b.opt.Remote.Upload(a.id, entry)
	}
	res.Status, res.OutputID, res.Out = StatusRan, oid, c.OutputDir(oid)
	b.con.printf("ran    %s (%s)\n", res.name(), seconds(dur))
	return outcome{n: n, devs: devs}
}

// run runs a stage into a fresh folder and commits it. On failure it
// prints the tail of the stage's log and removes what the stage wrote.
// beforeCommit, if not nil, is called once the stage succeeded; its error
// is the stage's, and nothing is committed.
func (b *builder) run(ctx context.Context, res *Result, a *action, devs []int, beforeCommit func() error) (cache.ID, []cache.File, time.Duration, error) {
	c := b.opt.Cache
	in, p := res.Instance, res.Pipeline
	tmp, err := c.NewOutputDir()
	if err != nil {
		return cache.ID{}, nil, 0, err
	}
	logPath := c.LogPath(a.id)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o777); err != nil {
		c.DiscardOutputDir(tmp)
		return cache.ID{}, nil, 0, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		c.DiscardOutputDir(tmp)
		return cache.ID{}, nil, 0, err
	}
	ex, exName := b.executorOf(in)
	if exName == "local" {
		b.con.printf("run    %s\n", res.name())
	} else {
		b.con.printf("run    %s on %s\n", res.name(), exName)
	}
	t := &Task{Name: res.name(), Pipeline: p, Instance: in, Action: a.id, Config: a.config, LogPath: logPath, Cache: c, action: a,
		State: func(s string) { b.con.printf("job    %s: %s\n", res.name(), s) }}
	t.Upstream = map[string]Upstream{}
	for u, o := range a.ups {
		t.Upstream[u.Addr] = Upstream{OutputID: o.id, Dir: o.dir}
	}
	t.RunContext = RunContext{
		Addr:    in.Addr,
		Dir:     p.Dir,
		Out:     tmp,
		Log:     logf,
		Devices: b.deviceIDs(devs),
		Memo:    b.memo(in.Kind.Name),
		Digest: func(path string) (string, error) {
			if !filepath.IsAbs(path) {
				path = filepath.Join(p.Dir, path)
			}
			id, err := c.DigestPath(path)
			return id.String(), err
		},
		Progress: func(done, total int64) { b.con.progress(res.name(), done, total) },
		Warn:     func(msg string) { b.con.printf("refeval: warning: %s: %s\n", res.name(), msg) },

		HiddenEnv: p.HiddenEnv(in),
	}
	if !b.opt.Debug.NoSandbox {
		t.ReadOnly = []string{filepath.Dir(c.OutputDir(cache.ID{}))}
	}
	start := time.Now()
	err = ex.Run(ctx, t)
	dur := time.Since(start)
	b.con.finish(res.name())
	logf.Close()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		full := c.DiskFull() // before the discard frees what the stage wrote
		c.DiscardOutputDir(tmp)
		if ctx.Err() != nil {
			return cache.ID{}, nil, dur, fmt.Errorf("interrupted: %w", err)
		}
		if tail := logTail(logPath, 20); len(tail) > 0 {
			b.con.printf("--- log of %s (%s), last %d lines:\n    %s\n", res.name(), logPath, len(tail), strings.Join(tail, "\n    "))
		}
		if full != nil {
			err = fmt.Errorf("%w; %v", err, full)
		}
		return cache.ID{}, nil, dur, err
	}
	if beforeCommit != nil {
		if err := beforeCommit(); err != nil {
			c.DiscardOutputDir(tmp)
			return cache.ID{}, nil, dur, err
		}
	}
	oid, files, err := c.CommitOutput(tmp)
	if err != nil {
		c.DiscardOutputDir(tmp)
		return cache.ID{}, nil, dur, err
	}
	if !t.OutputID.IsZero() && oid != t.OutputID {
		return cache.ID{}, nil, dur, fmt.Errorf("the output read here (%s) differs from what the executor wrote (%s): a file changed or is not yet visible on this machine; nothing was recorded", oid, t.OutputID)
	}
	return oid, files, dur, nil
}

// verify reruns a cached deterministic stage and fails if its output
// differs from the cached one (REFEVAL_DEBUG=cacheverify=1).
func (b *builder) verify(ctx context.Context, n *node, a *action, e *cache.Entry, devs []int) outcome {
	res := n.res
	c := b.opt.Cache
	oid, _, dur, err := b.runSealed(ctx, n, a, devs)
	res.Duration = dur
	if err == nil && oid != e.OutputID {
		err = fmt.Errorf("cacheverify: output changed when run again (cached %s, now %s); the stage is not deterministic or its ActionID misses an input", e.OutputID, oid)
	}
	if err != nil {
		res.Status, res.Err = StatusFailed, err
		b.con.printf("FAILED %s: %v\n", res.name(), err)
		return outcome{n: n, devs: devs}
	}
	b.seals.add(e.OutputID, e.Files, res.Instance.Addr)
	res.Status, res.OutputID, res.Out = StatusCached, e.OutputID, c.OutputDir(e.OutputID)
	b.con.printf("cached %s (verified, %s)\n", res.name(), seconds(dur))
	return outcome{n: n, devs: devs}
}

// safeRun runs a stage and turns a panic into an error.
func safeRun(ctx context.Context, st Stage, rc *RunContext) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("stage panicked: %v", r)
			fmt.Fprintf(rc.Log, "panic: %v\n", r)
		}
	}()
	return st.Run(ctx, rc)
}

// lockedWriter writes through the console, so debug lines do not tear the
// progress bars.
type lockedWriter struct{ c *console }

func (w lockedWriter) Write(b []byte) (int, error) {
	w.c.printf("%s", b)
	return len(b), nil
}

// name is how the console names a result: its address, and its
// selection's label in brackets when there is one.
func (r *Result) name() string {
	if r.Label == "" {
		return r.Instance.Addr
	}
	return r.Instance.Addr + " [" + r.Label + "]"
}

// memo returns a stage kind's memo store: the local one, behind the
// remote when there is one.
func (b *builder) memo(ns string) Memo {
	local := b.opt.Cache.Memo(ns)
	if b.opt.Remote == nil {
		return local
	}
	return b.opt.Remote.Memo(ns, local)
}
