package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/refeval/refeval/cache"
	"github.com/refeval/refeval/engine"
)

var cmdPlan = &Command{
	UsageLine: "plan [--json] [--var name=value]... [--executor TYPE.NAME] [--cache DIR] [--no-wait] FILE [TARGET...]",
	Short:     "say what a build would run, and why",
	Long: `
Plan says, for each stage a build of FILE (or of the TARGET stages) would
visit, whether it would run or come from the cache, and why it would run:
not in the cache, a configuration attribute changed (old → new), an input
file changed, an upstream output changed, or the stage kind's version
changed. Nothing runs. A stage below one that will run is reported as
running, since its inputs are not known yet.

The --json flag prints a JSON array of
{"stage", "action": "run"|"cached", "reasons": [...], "out", "executor"}; a
stage that would run on an executor block (its own executor argument, or
--executor TYPE.NAME) is shown "on TYPE.NAME", and has "executor" in JSON.
`,
}

var planFlags commonFlags

func init() {
	cmdPlan.Run = runPlan
	addLoadFlags(&cmdPlan.Flag, &planFlags)
	cmdPlan.Flag.BoolVar(&planFlags.json, "json", false, "print the plan as JSON on stdout")
	cmdPlan.Flag.StringVar(&planFlags.executor, "executor", "", "say where stages that name no executor would run: TYPE.NAME of an executor block")
	register(cmdPlan)
}

func runPlan(ctx context.Context, cmd *Command, args []string) error {
	if len(args) < 1 {
		return usageErrorf("missing pipeline FILE")
	}
	f := &planFlags
	// As build does: open an existing cache folder while the pipeline loads.
	p, sel, early, err := loadSelection(ctx, f, args)
	if err != nil {
		return err
	}
	var c *cache.Cache
	dir := cacheDir(f, p)
	if _, err := os.Stat(dir); err == nil { // plan never creates the cache folder
		c, err = early.take(ctx, f, dir)
		if err != nil {
			return err
		}
		defer closeCache(c)
	} else {
		early.drop()
	}
	var debug io.Writer
	if engine.ParseDebug(os.Getenv("REFEVAL_DEBUG")).CacheHash {
		debug = os.Stderr
	}
	items, err := engine.Plan(ctx, p, sel, c, debug)
	if ctx.Err() != nil {
		return errInterrupted
	}
	if err != nil {
		return err
	}
	if err := checkExecutorFlag(f, p); err != nil {
		return err
	}
	for i := range items {
		// The plan names the executors other than the local one.
		if items[i].Executor = engine.RunsOn(items[i].Executor, f.executor); items[i].Executor == "local" {
			items[i].Executor = ""
		}
	}
	if f.json {
		return printJSON(items)
	}
	// One write for the whole plan, not one per line: at 200 stages the
	// writes were a measurable part of a plan's time.
	w := bufio.NewWriter(os.Stdout)
	run := 0
	for _, it := range items {
		if it.Action == "run" {
			run++
			if it.Executor != "" {
				fmt.Fprintf(w, "run    %s on %s\n", it.Stage, it.Executor)
			} else {
				fmt.Fprintf(w, "run    %s\n", it.Stage)
			}
			for _, r := range it.Reasons {
				fmt.Fprintf(w, "         %s\n", r)
			}
		} else {
			fmt.Fprintf(w, "cached %s\n", it.Stage)
		}
	}
	fmt.Fprintf(w, "%d to run, %d cached\n", run, len(items)-run)
	return w.Flush()
}
