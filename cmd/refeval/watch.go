package main

import (
	"context"
	"fmt"
	"os"

	"github.com/refeval/refeval/cache"
	"github.com/refeval/refeval/engine"
)

var cmdWatch = &Command{
	UsageLine: "watch [-j N] [-k] [--json] [--var name=value]... [--gpus N] [--cache DIR] [--no-wait] FILE [TARGET...]",
	Short:     "rebuild whenever the pipeline or an input changes",
	Long: `
Watch builds like build, then watches the pipeline file and every input file
or folder of its stages, and builds again when one changes. A change during
a build cancels it and starts again. Ctrl-C stops. The flags are build's;
with --json each finished build prints its JSON object on stdout.
`,
}

var watchFlags commonFlags

func init() {
	cmdWatch.Run = runWatch
	addBuildFlags(&cmdWatch.Flag, &watchFlags)
	register(cmdWatch)
}

func runWatch(ctx context.Context, cmd *Command, args []string) error {
	if len(args) < 1 {
		return usageErrorf("missing pipeline FILE")
	}
	f := &watchFlags
	file, targets := args[0], args[1:]
	var c *cache.Cache
	defer func() {
		if c != nil {
			closeCache(c) // on a full disk, leaves the flush to the next run
		}
	}()
	var devs engine.DeviceList // set by each load
	var ignore []string
	load := func() *engine.Pipeline {
		p, err := loadPipeline(ctx, file, f.vars.values())
		if err != nil {
			if err != errReported {
				fmt.Fprintf(os.Stderr, "refeval: %v\n", err)
			}
			return nil
		}
		sel, err := p.Select(targets)
		if err != nil {
			fmt.Fprintf(os.Stderr, "refeval: %v\n", err)
			return nil
		}
		if err := setupExecutors(f, p, [][]*engine.Instance{sel}); err != nil {
			if err != errReported {
				fmt.Fprintf(os.Stderr, "refeval: %v\n", err)
			}
			return nil
		}
		local := localStages(f, sel)
		devs = devicesFor(f, local)
		if printDiags(p, engine.CheckDevices(local, len(devs))) != nil {
			return nil
		}
		if c == nil {
			dir := cacheDir(f, p)
			if c, err = openCache(ctx, f, dir); err != nil {
				fmt.Fprintf(os.Stderr, "refeval: %v\n", err)
				return nil
			}
			ignore = append(ignore, c.Dir())
		}
		return p
	}
	return engine.Watch(ctx, engine.WatchOptions{
		File: file,
		Load: load,
		Build: func(ctx context.Context, p *engine.Pipeline) {
			sel, _ := p.Select(targets)
			rep := build(ctx, c, f, devs, []engine.Selection{{Pipeline: p, Stages: sel}})
			if err := finishBuild(ctx, rep, f); err != nil && ctx.Err() == nil {
				fmt.Fprintf(os.Stderr, "refeval: %v\n", err)
			}
		},
		Ignore:  func() []string { return ignore },
		Console: os.Stderr,
	})
}
