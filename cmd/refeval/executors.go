package main

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/executor/slurm"
)

// executorTypes lists the executor block types refeval knows.
var executorTypes = []string{"slurm"}

// setupExecutors decodes every executor block of p and makes the ones that
// the selected stages or --executor use, into f.execs. It prints the
// blocks' diagnostics.
func setupExecutors(f *commonFlags, p *engine.Pipeline, sels [][]*engine.Instance) error {
	if f.executor != "" && !p.HasExecutor(f.executor) {
		return usageErrorf("--executor %s: %s declares no executor %s; declare it with an executor block, as in executor \"slurm\" \"gpu\" { partition = \"gpu\" }", f.executor, p.File, f.executor)
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
		switch b.Type {
		case "slurm":
			cfg, d := slurm.Decode(b, p.EvalContext())
			diags = append(diags, d...)
			if d.HasErrors() || !used[name] {
				continue
			}
			ex, err := slurm.New(name, cfg)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Executor Unavailable", Detail: err.Error() + ".", Subject: b.DeclRange.Ptr()})
				continue
			}
			execs[name] = ex
		default:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown Executor Type",
				Detail:  fmt.Sprintf("There is no executor type %q. The types are: %v.", b.Type, executorTypes),
				Subject: b.DeclRange.Ptr()})
		}
	}
	if err := printDiags(p, diags); err != nil {
		return err
	}
	f.execs = execs
	return nil
}

// localStages returns the stages of sel that run on this machine: the
// ones whose GPUs come from this machine's devices.
func localStages(f *commonFlags, sel []*engine.Instance) []*engine.Instance {
	var out []*engine.Instance
	for _, in := range sel {
		name := in.Executor
		if name == "" {
			name = f.executor
		}
		if name == "" || name == "local" {
			out = append(out, in)
		}
	}
	return out
}
