package main

import (
	"sort"

	"github.com/hashicorp/hcl/v2"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/executor/slurm"
	"github.com/refeval/refeval/stages"
)

// blockTypes returns the top-level block types refeval knows, for
// engine.LoadOptions.Blocks: the stages' model and dataset blocks and the
// executor types.
func blockTypes() map[string]*engine.BlockType {
	b := stages.Blocks()
	b["executor.slurm"] = slurm.Block
	return b
}

// setupExecutors makes the executors that the selected stages or
// --executor use, into f.execs, from the blocks Load decoded (a bad block
// is a load error). It prints what stops an executor from starting.
func setupExecutors(f *commonFlags, p *engine.Pipeline, sels [][]*engine.Instance) error {
	if err := checkExecutorFlag(f, p); err != nil {
		return err
	}
	used := map[string]bool{f.executor: true}
	for _, sel := range sels {
		for _, in := range sel {
			used[in.Executor] = true
		}
	}
	var diags hcl.Diagnostics
	execs := map[string]engine.Executor{}
	names := make([]string, 0, len(p.Executors))
	for n := range p.Executors {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		b := p.Executors[name]
		cfg, ok := b.Value.(*slurm.Config)
		if !ok || !used[name] {
			continue
		}
		ex, err := slurm.New(name, cfg)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Executor Unavailable", Detail: err.Error() + ".", Subject: b.DeclRange.Ptr()})
			continue
		}
		execs[name] = ex
	}
	if err := printDiags(p, diags); err != nil {
		return err
	}
	f.execs = execs
	return nil
}

// checkExecutorFlag reports an --executor that p declares no block for.
func checkExecutorFlag(f *commonFlags, p *engine.Pipeline) error {
	if f.executor != "" && !p.HasExecutor(f.executor) {
		return usageErrorf("--executor %s: %s declares no executor %s; declare it with an executor block, as in executor \"slurm\" \"gpu\" { partition = \"gpu\" }", f.executor, p.File, f.executor)
	}
	return nil
}

// localStages returns the stages of sel that run on this machine: the
// ones whose GPUs come from this machine's devices.
func localStages(f *commonFlags, sel []*engine.Instance) []*engine.Instance {
	var out []*engine.Instance
	for _, in := range sel {
		if engine.RunsOn(in.Executor, f.executor) == "local" {
			out = append(out, in)
		}
	}
	return out
}
