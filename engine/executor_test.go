package engine

import (
	"context"
	"errors"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/refeval/refeval/cache"
)

// fakeCluster is a Cluster for tests: it runs stages in this process, as a
// job on another machine would, and records how many ran at once.
type fakeCluster struct {
	max    int
	delay  time.Duration
	fill   int // as probe.fill: each Run waits until fill jobs ran at once
	fillBy time.Time
	block  map[string]bool // addresses that wait for ctx to be cancelled
	lie    bool            // report a wrong OutputID

	mu        sync.Mutex
	running   int
	peak      int
	ran       []string
	devices   map[string][]int
	cancelled []string
}

func (f *fakeCluster) MaxJobs() int { return f.max }

func (f *fakeCluster) Run(ctx context.Context, t *Task) error {
	f.mu.Lock()
	f.running++
	f.peak = max(f.peak, f.running)
	f.ran = append(f.ran, t.Instance.Addr)
	if f.devices == nil {
		f.devices = map[string][]int{}
	}
	f.devices[t.Instance.Addr] = t.Devices
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.running--
		f.mu.Unlock()
	}()
	waitPeak(&f.mu, &f.peak, f.fill, f.fillBy)
	if f.block[t.Instance.Addr] {
		<-ctx.Done()
		f.mu.Lock()
		f.cancelled = append(f.cancelled, t.Instance.Addr)
		f.mu.Unlock()
		return ctx.Err()
	}
	time.Sleep(f.delay)
	if err := (LocalExecutor{}).Run(ctx, t); err != nil {
		return err
	}
	id, _, err := cache.ManifestOf(t.Out)
	if f.lie {
		id = cache.DigestBytes([]byte("something else"))
	}
	t.OutputID = id
	return err
}

// loadKinds loads src with the fake and probe kinds into a fresh folder
// and opens a cache there.
func loadKinds(t *testing.T, src string) (*Pipeline, *cache.Cache) {
	t.Helper()
	pr := (&probe{held: map[int]string{}}).kind()
	return loadWith(t, src, func(name string) (*Kind, bool) {
		switch name {
		case "fake":
			return fakeKind, true
		case "probe":
			return pr, true
		}
		return nil, false
	})
}

func outputIDs(rep *Report) map[string]cache.ID {
	m := map[string]cache.ID{}
	for _, r := range rep.Results {
		m[r.Instance.Addr] = r.OutputID
	}
	return m
}

// TestClusterSlots checks that cluster stages run up to the cluster's
// MaxJobs at once whatever -j says, and that gpus = N reaches the cluster
// as a request, not as this machine's device ids (it has none here).
func TestClusterSlots(t *testing.T) {
	src := `
executor "fake" "c" {}
stage "fake" "s" {
  for_each = toset(["1", "2", "3", "4", "5", "6"])
  executor = executor.fake.c
  text     = each.key
}
stage "fake" "g" {
  executor = executor.fake.c
  gpus     = 4
  text     = "four GPUs"
}
stage "fake" "local" { text = "here" }
`
	tests := []struct {
		max, jobs int
		wantPeak  int
	}{
		{max: 3, jobs: 1, wantPeak: 3},
		{max: 1, jobs: 4, wantPeak: 1},
	}
	for _, tt := range tests {
		t.Run(strings.Repeat("x", tt.max), func(t *testing.T) {
			pl, c := loadKinds(t, src)
			fc := &fakeCluster{max: tt.max, delay: 50 * time.Millisecond, fill: tt.wantPeak, fillBy: time.Now().Add(fillWait)}
			rep := Build(context.Background(), []Selection{{Pipeline: pl, Stages: pl.Stages}},
				BuildOptions{Cache: c, Jobs: tt.jobs, Executors: map[string]Executor{"fake.c": fc}})
			if err := rep.Err(); err != nil {
				t.Fatal(err)
			}
			if fc.peak != tt.wantPeak {
				t.Errorf("wrong peak of cluster stages\ngot:  %#v\nwant: %#v", fc.peak, tt.wantPeak)
			}
			sort.Strings(fc.ran)
			if len(fc.ran) != 7 || strings.Contains(strings.Join(fc.ran, " "), "local") {
				t.Errorf("wrong stages on the cluster: %v", fc.ran)
			}
			if d := fc.devices["stage.fake.g"]; len(d) != 0 {
				t.Errorf("a cluster stage got local device ids %v", d)
			}
		})
	}
}

// TestExecutorNotInActionID checks that where a stage runs changes neither
// its ActionID nor its OutputID: a cluster build gives a local build's
// OutputIDs, and a local build of the same stages finds them cached.
func TestExecutorNotInActionID(t *testing.T) {
	src := `
executor "fake" "c" {}
stage "fake" "a" { text = "a" }
stage "fake" "b" {
  text       = "b"
  depends_on = [stage.fake.a]
}
`
	pl, c := loadKinds(t, src)
	sel := []Selection{{Pipeline: pl, Stages: pl.Stages}}
	local := Build(context.Background(), sel, BuildOptions{Cache: c, Jobs: 1})
	if err := local.Err(); err != nil {
		t.Fatal(err)
	}

	pl2, c2 := loadKinds(t, src)
	fc := &fakeCluster{max: 2}
	remote := Build(context.Background(), []Selection{{Pipeline: pl2, Stages: pl2.Stages}},
		BuildOptions{Cache: c2, Jobs: 1, Executors: map[string]Executor{"fake.c": fc}, DefaultExecutor: "fake.c"})
	if err := remote.Err(); err != nil {
		t.Fatal(err)
	}
	if len(fc.ran) != 2 {
		t.Errorf("wrong stages on the cluster\ngot:  %v\nwant: both", fc.ran)
	}
	if d := cmp.Diff(outputIDs(local), outputIDs(remote)); d != "" {
		t.Errorf("cluster OutputIDs differ from local ones (-local +cluster):\n%s", d)
	}
	again := Build(context.Background(), sel, BuildOptions{Cache: c, Jobs: 1, Executors: map[string]Executor{"fake.c": fc}, DefaultExecutor: "fake.c"})
	if got := again.Summary(); len(got.Cached) != 2 {
		t.Errorf("a build on the cluster did not find the local results\ngot:  %#v", got)
	}
}

// TestClusterFailureCancels checks that a failure without -k cancels the
// cluster stages still running, which count as skipped, not failed, and
// that with -k they run to the end.
func TestClusterFailureCancels(t *testing.T) {
	src := `
executor "fake" "c" {}
stage "fake" "boom" {
  fail = true
  text = "x"
}
stage "probe" "slow" {
  for_each = toset(["1", "2"])
  executor = executor.fake.c
  text     = each.key
}
`
	t.Run("stop", func(t *testing.T) {
		pl, c := loadKinds(t, src)
		fc := &fakeCluster{max: 4, block: map[string]bool{`stage.probe.slow["1"]`: true, `stage.probe.slow["2"]`: true}}
		rep := Build(context.Background(), []Selection{{Pipeline: pl, Stages: pl.Stages}},
			BuildOptions{Cache: c, Jobs: 1, Executors: map[string]Executor{"fake.c": fc}})
		want := Summary{Ran: []string{}, Cached: []string{}, Failed: []string{"stage.fake.boom"},
			Skipped: []string{`stage.probe.slow["1"]`, `stage.probe.slow["2"]`}}
		if d := cmp.Diff(want, rep.Summary()); d != "" {
			t.Errorf("wrong summary (-want +got):\n%s", d)
		}
		if len(fc.cancelled) != 2 {
			t.Errorf("wrong cancelled stages\ngot:  %v\nwant: both slow ones", fc.cancelled)
		}
	})
	t.Run("keep going", func(t *testing.T) {
		pl, c := loadKinds(t, src)
		fc := &fakeCluster{max: 4, delay: 50 * time.Millisecond}
		rep := Build(context.Background(), []Selection{{Pipeline: pl, Stages: pl.Stages}},
			BuildOptions{Cache: c, Jobs: 1, KeepGoing: true, Executors: map[string]Executor{"fake.c": fc}})
		want := Summary{Ran: []string{`stage.probe.slow["1"]`, `stage.probe.slow["2"]`}, Cached: []string{}, Failed: []string{"stage.fake.boom"}, Skipped: []string{}}
		if d := cmp.Diff(want, rep.Summary()); d != "" {
			t.Errorf("wrong summary (-want +got):\n%s", d)
		}
	})
}

// TestClusterOutputMismatch checks that an output that is not what the
// job reported is a failed stage, and not entered in the index.
func TestClusterOutputMismatch(t *testing.T) {
	pl, c := loadKinds(t, `
executor "fake" "c" {}
stage "fake" "a" {
  executor = executor.fake.c
  text     = "a"
}
`)
	fc := &fakeCluster{max: 1, lie: true}
	rep := Build(context.Background(), []Selection{{Pipeline: pl, Stages: pl.Stages}},
		BuildOptions{Cache: c, Jobs: 1, Executors: map[string]Executor{"fake.c": fc}})
	res := rep.Results[0]
	if res.Status != StatusFailed || res.Err == nil || !strings.Contains(res.Err.Error(), "differs from what the executor wrote") {
		t.Fatalf("wrong result\ngot:  %s %v\nwant: failed, differs from what the executor wrote", res.Status, res.Err)
	}
	if _, err := c.Get(res.Action); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("the action is in the index: %v", err)
	}
}

// TestMissingExecutor checks that a stage naming an executor the build was
// not given fails, instead of running on this machine.
func TestMissingExecutor(t *testing.T) {
	pl, c := loadKinds(t, `
executor "fake" "c" {}
stage "fake" "a" {
  executor = executor.fake.c
  text     = "a"
}
stage "fake" "b" { text = "b" }
`)
	rep := Build(context.Background(), []Selection{{Pipeline: pl, Stages: pl.Stages}}, BuildOptions{Cache: c, Jobs: 1, KeepGoing: true})
	want := Summary{Ran: []string{"stage.fake.b"}, Cached: []string{}, Failed: []string{"stage.fake.a"}, Skipped: []string{}}
	if d := cmp.Diff(want, rep.Summary()); d != "" {
		t.Errorf("wrong summary (-want +got):\n%s", d)
	}
	if err := rep.Results[0].Err; err == nil || !strings.Contains(err.Error(), "runs on executor fake.c, which this build has not set up") {
		t.Errorf("wrong error %v", err)
	}
}

// TestRunStage checks the job side: RunStage runs one instance with the
// upstream folders it is given, and refuses a configuration other than the
// one the build hashed.
func TestRunStage(t *testing.T) {
	pl, c := loadKinds(t, `
stage "fake" "a" { text = "a" }
stage "fake" "b" { text = "${stage.fake.a.out} b" }
`)
	rep := Build(context.Background(), []Selection{{Pipeline: pl, Stages: pl.Stages}}, BuildOptions{Cache: c, Jobs: 1})
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	a, b := rep.Results[0], rep.Results[1]
	e, err := c.Get(b.Action)
	if err != nil {
		t.Fatal(err)
	}
	m, ok := metaOf(e)
	if !ok {
		t.Fatalf("entry of %s has no engine meta: %s", b.Instance.Addr, e.Meta)
	}
	ups := map[string]Upstream{a.Instance.Addr: {OutputID: a.OutputID, Dir: a.Out}}
	tests := []struct {
		name    string
		config  map[string]string
		wantErr string
	}{
		{"same", m.Config, ""},
		{"changed", map[string]string{"text": `"other"`}, "attribute text is"},
		{"gone", map[string]string{"text": m.Config["text"], "n": "1"}, "attribute n is gone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			err := RunStage(context.Background(), pl, b.Instance.Addr, ups, tt.config, &RunContext{Addr: b.Instance.Addr, Dir: pl.Dir, Out: out, Log: os.Stderr})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("wrong error\ngot:  %v\nwant: %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			id, _, err := cache.ManifestOf(out)
			if err != nil {
				t.Fatal(err)
			}
			if id != b.OutputID {
				t.Errorf("wrong OutputID\ngot:  %s\nwant: %s", id, b.OutputID)
			}
		})
	}
}
