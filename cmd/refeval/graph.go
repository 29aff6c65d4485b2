package main

import (
	"context"
	"os"
)

var cmdGraph = &Command{
	UsageLine: "graph [--format dot|mermaid] [--var name=value]... FILE",
	Short:     "print a pipeline's stage graph",
	Long: `
Graph prints the stage instances of FILE and the references between them,
as Graphviz dot (the default) or a Mermaid flowchart. Edges point from a
stage to the stages that use its output.
`,
}

var (
	graphFlags  commonFlags
	graphFormat string
)

func init() {
	cmdGraph.Run = runGraph
	cmdGraph.Flag.Var(&graphFlags.vars, "var", "set a pipeline variable: name=value (repeatable)")
	cmdGraph.Flag.StringVar(&graphFormat, "format", "dot", "output format: dot or mermaid")
	register(cmdGraph)
}

func runGraph(ctx context.Context, cmd *Command, args []string) error {
	if len(args) != 1 {
		return usageErrorf("want exactly one pipeline FILE")
	}
	if graphFormat != "dot" && graphFormat != "mermaid" {
		return usageErrorf("unknown --format %q; use dot or mermaid", graphFormat)
	}
	p, err := loadPipeline(ctx, args[0], graphFlags.vars.values())
	if err != nil {
		return err
	}
	return p.WriteGraph(os.Stdout, graphFormat)
}
