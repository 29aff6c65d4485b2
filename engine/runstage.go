package engine

import (
	"context"
	"fmt"
)

// RunStage runs the instance addr of p in this process, without a cache:
// what an executor's job does on another machine (refeval run-stage). ups
// gives every upstream instance's output by address. config is the
// canonical configuration the build hashed into the ActionID; if the
// instance evaluates to another one here (the pipeline file or a variable
// changed after the job was sent), RunStage fails before running anything.
// It adds the instance's hidden variables (Pipeline.HiddenEnv) to
// rc.HiddenEnv. Every error it returns names addr (once).
func RunStage(ctx context.Context, p *Pipeline, addr string, ups map[string]Upstream, config map[string]string, rc *RunContext) error {
	in, ok := p.Lookup(addr)
	if !ok {
		return fmt.Errorf("%s has no stage %s; was the pipeline file changed after the build started?", p.File, addr)
	}
	a := &action{p: p, in: in, ups: map[*Instance]upstreamOut{}}
	for _, u := range in.Deps {
		o, ok := ups[u.Addr]
		if !ok {
			return fmt.Errorf("%s: upstream %s has no output", addr, u.Addr)
		}
		a.ups[u] = upstreamOut{id: o.OutputID, dir: o.Dir}
	}
	here, err := p.canonicalConfig(in, a.ups)
	if err != nil {
		return err
	}
	for _, name := range sortedKeys(here) {
		if js := here[name]; config[name] != js {
			return fmt.Errorf("%s: attribute %s is %s here but was %s when the build sent the job; the pipeline file or a variable changed: run the build again", addr, name, js, config[name])
		}
	}
	for name := range config {
		if _, ok := here[name]; !ok {
			return fmt.Errorf("%s: attribute %s is gone from %s since the build sent the job: run the build again", addr, name, p.File)
		}
	}
	st, err := a.stage()
	if err != nil {
		return err
	}
	// As in a local build (builder.run): the job's processes do not see
	// the secrets of model blocks the stage does not refer to, though the
	// cluster passed the build's whole environment to the job.
	rc.HiddenEnv = append(rc.HiddenEnv, p.HiddenEnv(in)...)
	if err := safeRun(ctx, st, rc); err != nil {
		return fmt.Errorf("%s: %w", addr, err)
	}
	return nil
}
