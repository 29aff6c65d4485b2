package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/refeval/refeval/cache"
)

// probe is a stage kind for walk tests: it records how many stages run at
// once and which devices each holds, sleeps, and writes its name.
type probe struct {
	mu      sync.Mutex
	running int
	peak    int
	held    map[int]string // device → stage holding it
	granted map[int]bool   // every device id a stage was given
	clash   []string
	ran     []string
	block   bool // Run waits for ctx to be cancelled
	// fill, when set, makes each Run wait (until fillBy) for fill stages
	// to have run at once before it finishes, so that the peak a test
	// expects does not depend on how fast the machine starts them.
	fill   int
	fillBy time.Time
}

// fillWait bounds how long a build's Runs wait for the peak they were told
// to expect: a walk that starts fewer stages at once than it may fails
// the peak check after this, instead of hanging.
const fillWait = 10 * time.Second

// waitPeak waits, with mu unlocked, until *peak reaches want or the
// deadline passes.
func waitPeak(mu *sync.Mutex, peak *int, want int, deadline time.Time) {
	for {
		mu.Lock()
		done := *peak >= want
		mu.Unlock()
		if done || time.Now().After(deadline) {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func (p *probe) kind() *Kind {
	schema := &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "text"}}}
	return &Kind{Name: "probe", Version: "1", Schema: schema,
		Decode: func(body hcl.Body, ctx *hcl.EvalContext) (Stage, hcl.Diagnostics) {
			_, diags := body.Content(schema)
			return probeStage{p}, diags
		}}
}

type probeStage struct{ p *probe }

func (probeStage) Inputs() []string { return nil }

func (s probeStage) Run(ctx context.Context, rc *RunContext) error {
	p := s.p
	p.mu.Lock()
	p.running++
	p.peak = max(p.peak, p.running)
	p.ran = append(p.ran, rc.Addr)
	for _, d := range rc.Devices {
		if other, ok := p.held[d]; ok {
			p.clash = append(p.clash, fmt.Sprintf("%s and %s on device %d", other, rc.Addr, d))
		}
		p.held[d] = rc.Addr
		if p.granted != nil {
			p.granted[d] = true
		}
	}
	p.mu.Unlock()
	waitPeak(&p.mu, &p.peak, p.fill, p.fillBy)
	var err error
	if p.block {
		<-ctx.Done()
		err = ctx.Err()
	} else {
		rc.Progress(1, 2)
		time.Sleep(30 * time.Millisecond)
	}
	p.mu.Lock()
	p.running--
	for _, d := range rc.Devices {
		delete(p.held, d)
	}
	p.mu.Unlock()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(rc.Out, "out.txt"), []byte(rc.Addr), 0o644)
}

func loadProbe(t *testing.T, p *probe, src string) (*Pipeline, *cache.Cache) {
	t.Helper()
	k := p.kind()
	return loadWith(t, src, func(name string) (*Kind, bool) { return k, name == "probe" })
}

// loadWith writes src into a fresh folder, loads it with lookup and opens
// a cache there, closed when the test ends.
func loadWith(t *testing.T, src string, lookup func(string) (*Kind, bool)) (*Pipeline, *cache.Cache) {
	t.Helper()
	file := writePipeline(t, src)
	dir := filepath.Dir(file)
	pl, diags := Load(file, LoadOptions{Blocks: fakeBlocks, Lookup: lookup})
	if diags.HasErrors() {
		t.Fatalf("load: %s", diags)
	}
	c, err := cache.Open(filepath.Join(dir, ".refeval"), cache.Options{NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return pl, c
}

func TestBuildParallelism(t *testing.T) {
	src := `
stage "probe" "s" {
  for_each = toset(["1", "2", "3", "4", "5", "6"])
  text     = each.key
}
stage "probe" "g" {
  for_each = toset(["1", "2", "3", "4"])
  gpus     = 1
  text     = each.key
}
stage "probe" "gg" {
  gpus = 2
  text = "both"
}
`
	tests := []struct {
		jobs        int
		devices     DeviceList // what the local executor's DeviceSource lists
		wantPeak    int
		wantGranted []int
	}{
		{jobs: 1, devices: FirstDevices(2), wantPeak: 1, wantGranted: []int{0, 1}},
		{jobs: 3, devices: FirstDevices(2), wantPeak: 3, wantGranted: []int{0, 1}},
		{jobs: 3, devices: DeviceList{4, 6}, wantPeak: 3, wantGranted: []int{4, 6}}, // the source's ids, not positions
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("j%d-%v", tt.jobs, tt.devices), func(t *testing.T) {
			p := &probe{held: map[int]string{}, granted: map[int]bool{}, fill: tt.wantPeak, fillBy: time.Now().Add(fillWait)}
			pl, c := loadProbe(t, p, src)
			rep := Build(context.Background(), []Selection{{Pipeline: pl, Stages: pl.Stages}}, BuildOptions{Cache: c, Jobs: tt.jobs, Devices: tt.devices})
			if err := rep.Err(); err != nil {
				t.Fatal(err)
			}
			if p.peak != tt.wantPeak {
				t.Errorf("wrong peak concurrency\ngot:  %#v\nwant: %#v", p.peak, tt.wantPeak)
			}
			if len(p.clash) > 0 {
				t.Errorf("stages shared a device: %v", p.clash)
			}
			if len(p.ran) != 11 {
				t.Errorf("wrong number of runs\ngot:  %#v\nwant: %#v", len(p.ran), 11)
			}
			var granted []int
			for d := range p.granted {
				granted = append(granted, d)
			}
			slices.Sort(granted)
			if !slices.Equal(granted, tt.wantGranted) {
				t.Errorf("wrong device ids granted\ngot:  %v\nwant: %v", granted, tt.wantGranted)
			}
		})
	}
}

// TestBuildTooManyGPUs checks that a build whose caller skipped
// CheckDevices fails a stage that asks for more GPUs than exist with the
// load-time error (its gpus line, what to do) and still runs the others
// under -k.
func TestBuildTooManyGPUs(t *testing.T) {
	p := &probe{held: map[int]string{}, granted: map[int]bool{}}
	pl, c := loadProbe(t, p, `
stage "probe" "big" {
  gpus = 3
  text = "big"
}
stage "probe" "small" { text = "small" }
`)
	rep := Build(context.Background(), []Selection{{Pipeline: pl, Stages: pl.Stages}}, BuildOptions{Cache: c, Jobs: 2, Devices: FirstDevices(2), KeepGoing: true})
	got := rep.Summary()
	if !slices.Equal(got.Failed, []string{"stage.probe.big"}) || !slices.Equal(got.Ran, []string{"stage.probe.small"}) {
		t.Fatalf("wrong summary\ngot:  %#v\nwant: big failed, small ran", got)
	}
	var err error
	for _, r := range rep.Results {
		if r.Instance.Addr == "stage.probe.big" {
			err = r.Err
		}
	}
	for _, want := range []string{"p.hcl:3", "asks for 3 GPUs, but 2 exist", "Lower gpus"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q\ngot: %v", want, err)
		}
	}
}

func TestBuildCancel(t *testing.T) {
	p := &probe{held: map[int]string{}, block: true}
	pl, c := loadProbe(t, p, `
stage "probe" "a" { text = "a" }
stage "probe" "b" { text = stage.probe.a.out }
`)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	rep := Build(ctx, []Selection{{Pipeline: pl, Stages: pl.Stages}}, BuildOptions{Cache: c, Jobs: 2})
	got := rep.Summary()
	if len(got.Failed) != 1 || got.Failed[0] != "stage.probe.a" || len(got.Skipped) != 1 {
		t.Fatalf("wrong summary after cancel\ngot:  %#v\nwant: a failed, b skipped", got)
	}
	// Nothing was committed: the next build runs a again.
	p.block = false
	rep = Build(context.Background(), []Selection{{Pipeline: pl, Stages: pl.Stages}}, BuildOptions{Cache: c, Jobs: 2})
	if got := rep.Summary(); len(got.Ran) != 2 {
		t.Fatalf("wrong summary after rerun\ngot:  %#v\nwant: both ran", got)
	}
}

func TestBuildDedupe(t *testing.T) {
	// Identical instances (same kind, config and inputs) run once.
	p := &probe{held: map[int]string{}}
	pl, c := loadProbe(t, p, `
stage "probe" "s" {
  for_each = { a = "same", b = "same", c = "other" }
  text     = each.value
}
`)
	rep := Build(context.Background(), []Selection{{Pipeline: pl, Stages: pl.Stages}}, BuildOptions{Cache: c, Jobs: 4})
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	if len(p.ran) != 2 {
		t.Errorf("wrong runs\ngot:  %#v\nwant: 2 runs", p.ran)
	}
	if n := rep.Counts(); n[StatusRan] != 2 || n[StatusCached] != 1 {
		t.Errorf("wrong counts\ngot:  %#v\nwant: 2 ran, 1 cached", n)
	}
	// The one that waited for its twin gets the twin's action and output.
	byKey := map[string]*Result{}
	for _, r := range rep.Results {
		byKey[r.Instance.Addr] = r
	}
	a, b := byKey[`stage.probe.s["a"]`], byKey[`stage.probe.s["b"]`]
	if a == nil || b == nil {
		t.Fatalf("missing results\ngot:  %#v", byKey)
	}
	if a.Action != b.Action || a.OutputID != b.OutputID || a.Out != b.Out || a.Out == "" {
		t.Errorf("wrong twin results\ngot:  %v %v %q and %v %v %q\nwant: the same action, output id and folder", a.Action, a.OutputID, a.Out, b.Action, b.OutputID, b.Out)
	}
}

func TestPlanReasons(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "p.hcl")
	write := func(name, s string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("in.txt", "one")
	write("p.hcl", `
variable "t" { default = "x" }
stage "fake" "a" {
  text   = var.t
  inputs = ["in.txt"]
}
variable "u" { default = "1" }
stage "fake" "b" { text = "${stage.fake.a.out} ${var.u}" }
`)
	load := func(vars map[string]string) *Pipeline {
		p, diags := Load(file, LoadOptions{Blocks: fakeBlocks, Lookup: fakeLookup, Vars: vars})
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		return p
	}
	c, err := cache.Open(filepath.Join(dir, ".refeval"), cache.Options{NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p := load(nil)
	if err := Build(context.Background(), []Selection{{Pipeline: p, Stages: p.Stages}}, BuildOptions{Cache: c}).Err(); err != nil {
		t.Fatal(err)
	}
	// The entry of b as a refeval before ActionID format 2 recorded it.
	_, last, err := c.LastFor(file, "stage.fake.b")
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	if err := json.Unmarshal(last.Meta, &meta); err != nil {
		t.Fatal(err)
	}
	if meta["Format"] != float64(actionFormat) {
		t.Fatalf("entry meta %s has no Format %d", last.Meta, actionFormat)
	}
	delete(meta, "Format")
	if last.Meta, err = json.Marshal(meta); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(cache.ID{1}, last); err != nil {
		t.Fatal(err)
	}
	p = load(map[string]string{"u": "2"})
	items, err := Plan(context.Background(), p, p.Stages, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := items[1].Reasons; len(r) != 2 || r[0] != "ActionID format changed: 1 → 2 (upstream stages enter it by output alone, no longer by address)" || !strings.HasPrefix(r[1], "attribute text changed: ") {
		t.Errorf("reasons for %s after an entry of ActionID format 1: %#v", items[1].Stage, r)
	}
	if r := items[0].Reasons; items[0].Action != "cached" {
		t.Errorf("%s: %s %#v, want cached", items[0].Stage, items[0].Action, r)
	}
	write("in.txt", "two")
	tests := []struct {
		name string
		vars map[string]string
		want map[string][]string
	}{
		{"input and attribute", map[string]string{"t": "y"}, map[string][]string{
			"stage.fake.a": {`attribute text changed: "x" → "y"`, "input in.txt changed"},
			"stage.fake.b": {"upstream stage.fake.a will run"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := load(tt.vars)
			items, err := Plan(context.Background(), p, p.Stages, c, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, it := range items {
				want := tt.want[it.Stage]
				if fmt.Sprint(it.Reasons) != fmt.Sprint(want) {
					t.Errorf("wrong reasons for %s\ngot:  %#v\nwant: %#v", it.Stage, it.Reasons, want)
				}
			}
		})
	}
}
