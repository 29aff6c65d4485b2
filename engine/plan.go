package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"

	"golang.org/x/sync/errgroup"

	"github.com/refeval/refeval/cache"
)

// A PlanItem says whether a stage instance would run and why; `plan --json`
// prints a list of them.
type PlanItem struct {
	Stage   string   `json:"stage"`
	Action  string   `json:"action"` // "run" or "cached"
	Reasons []string `json:"reasons"`
	Out     string   `json:"out"` // the output folder, for cached stages
	// Executor is where the stage would run: the executor its block names
	// (TYPE.NAME, or "local"); empty for the build's default.
	Executor string `json:"executor,omitempty"`
}

// Plan says, for each selected instance in dependency order, whether a build
// would run it and why: not in the cache, which configuration attribute
// changed (old → new), which input file changed, which upstream output
// changed, or that the kind's version changed. It runs nothing. c may be nil
// (no cache folder yet): then everything runs. It returns ctx's error as
// soon as ctx is cancelled.
//
// Instances whose dependencies are planned are planned concurrently, up to
// GOMAXPROCS at a time, as a build computes their actions; the items come
// in the same order whatever the interleaving.
func Plan(ctx context.Context, p *Pipeline, stages []*Instance, c *cache.Cache, debug io.Writer) ([]PlanItem, error) {
	order := topoOrder(stages)
	items := make([]PlanItem, len(order))
	outs := make([]upstreamOut, len(order)) // outs[i]: order[i]'s output, when cached
	idx := make(map[*Instance]int, len(order))
	for i, in := range order {
		idx[in] = i
	}
	// Each instance waits for its dependencies' done channels, then for
	// one of GOMAXPROCS slots (one when debug is set, so that its lines do
	// not interleave): a slot is never held by an instance that waits.
	slots := make(chan struct{}, runtime.GOMAXPROCS(0))
	if debug != nil {
		slots = make(chan struct{}, 1)
	}
	done := make([]chan struct{}, len(order))
	for i := range done {
		done[i] = make(chan struct{})
	}
	var g errgroup.Group
	for i, in := range order {
		g.Go(func() error {
			defer close(done[i])
			for _, d := range in.Deps {
				if j, ok := idx[d]; ok {
					<-done[j]
				}
			}
			slots <- struct{}{}
			defer func() { <-slots }()
			if err := ctx.Err(); err != nil {
				return err
			}
			var err error
			items[i], outs[i], err = planOne(p, c, in, idx, items, outs, debug)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return items, nil
}

// planOne plans instance in, whose dependencies' items and outputs are in
// items and outs (by their index in idx). It returns in's item and, when
// it is cached, its output.
func planOne(p *Pipeline, c *cache.Cache, in *Instance, idx map[*Instance]int, items []PlanItem, outs []upstreamOut, debug io.Writer) (PlanItem, upstreamOut, error) {
	item := PlanItem{Stage: in.Addr, Action: "run", Reasons: []string{}, Executor: in.Executor}
	var pending []string
	for _, d := range in.Deps {
		if j, ok := idx[d]; ok && items[j].Action == "run" {
			pending = append(pending, d.Addr)
		}
	}
	switch {
	case c == nil:
		item.Reasons = append(item.Reasons, "not in cache (no cache folder yet)")
	case len(pending) > 0:
		for _, d := range pending {
			item.Reasons = append(item.Reasons, fmt.Sprintf("upstream %s will run", d))
		}
	default:
		// Only the dependencies' outputs: computeAction looks at every
		// folder it is given, so passing every stage planned so far made
		// plan quadratic in the number of stages.
		ups := make(map[*Instance]upstreamOut, len(in.Deps))
		for _, d := range in.Deps {
			if j, ok := idx[d]; ok && items[j].Action == "cached" {
				ups[d] = outs[j]
			}
		}
		a, err := p.computeAction(c, in, ups, debug)
		if err != nil {
			return item, upstreamOut{}, err
		}
		e, l, why, err := lookupAction(c, a.id)
		if err != nil {
			return item, upstreamOut{}, err
		}
		switch l {
		case lookupHit:
			item.Action = "cached"
			item.Out = c.OutputDir(e.OutputID)
			return item, upstreamOut{id: e.OutputID, dir: item.Out}, nil
		case lookupDamaged:
			item.Reasons = append(item.Reasons, fmt.Sprintf("cached output is damaged: %v", why))
		case lookupMiss:
			r, err := whyNew(c, p, in, a)
			if err != nil {
				return item, upstreamOut{}, err
			}
			item.Reasons = r
		}
	}
	return item, upstreamOut{}, nil
}

// whyNew compares a new action with the last one recorded for the same
// stage address and names what changed.
func whyNew(c *cache.Cache, p *Pipeline, in *Instance, a *action) ([]string, error) {
	_, last, err := c.LastFor(p.File, in.Addr)
	if errors.Is(err, cache.ErrNotFound) || errors.Is(err, cache.ErrCorrupt) && last == nil {
		return []string{"not in cache (never built)"}, nil
	}
	if err != nil && !errors.Is(err, cache.ErrCorrupt) {
		return nil, err
	}
	prev, ok := metaOf(last)
	if !ok {
		return []string{"not in cache (the last entry of this stage does not say how it was built)"}, nil
	}
	var reasons []string
	if f := max(prev.Format, 1); f != actionFormat && len(in.Deps) > 0 {
		reasons = append(reasons, fmt.Sprintf("ActionID format changed: %d → %d (%s)", f, actionFormat, actionFormats[actionFormat]))
	}
	if prev.Kind != in.Kind.Name || prev.KindVersion != in.Kind.Version {
		reasons = append(reasons, fmt.Sprintf("kind version changed: %s %s → %s %s", prev.Kind, prev.KindVersion, in.Kind.Name, in.Kind.Version))
	}
	reasons = append(reasons, diffMaps(prev.Config, a.config,
		func(k, old, new string) string { return fmt.Sprintf("attribute %s changed: %s → %s", k, old, new) },
		func(k, new string) string { return fmt.Sprintf("attribute %s added: %s", k, new) },
		func(k, old string) string { return fmt.Sprintf("attribute %s removed (was %s)", k, old) })...)
	reasons = append(reasons, diffMaps(prev.Inputs, a.inputs,
		func(k, _, _ string) string { return fmt.Sprintf("input %s changed", k) },
		func(k, _ string) string { return fmt.Sprintf("input %s added", k) },
		func(k, _ string) string { return fmt.Sprintf("input %s removed", k) })...)
	reasons = append(reasons, diffMaps(prev.Upstream, a.upstream,
		func(k, _, _ string) string { return fmt.Sprintf("upstream %s output changed", k) },
		func(k, _ string) string { return fmt.Sprintf("upstream %s added", k) },
		func(k, _ string) string { return fmt.Sprintf("upstream %s removed", k) })...)
	if len(reasons) == 0 {
		reasons = append(reasons, "not in cache (removed, or the environment changed)")
	}
	return reasons, nil
}

func diffMaps(old, new map[string]string, changed func(k, o, n string) string, added func(k, n string) string, removed func(k, o string) string) []string {
	var out []string
	keys := append(sortedKeys(old), sortedKeys(new)...)
	slices.Sort(keys)
	for _, k := range slices.Compact(keys) {
		o, inOld := old[k]
		n, inNew := new[k]
		switch {
		case inOld && inNew && o != n:
			out = append(out, changed(k, o, n))
		case !inOld && inNew:
			out = append(out, added(k, n))
		case inOld && !inNew:
			out = append(out, removed(k, o))
		}
	}
	return out
}

// topoOrder sorts instances so that each comes after its dependencies,
// keeping file order otherwise.
func topoOrder(stages []*Instance) []*Instance {
	in := map[*Instance]bool{}
	for _, s := range stages {
		in[s] = true
	}
	seen := map[*Instance]bool{}
	var out []*Instance
	var visit func(s *Instance)
	visit = func(s *Instance) {
		if seen[s] {
			return
		}
		seen[s] = true
		for _, d := range s.Deps {
			if in[d] {
				visit(d)
			}
		}
		out = append(out, s)
	}
	for _, s := range stages {
		visit(s)
	}
	return out
}
