package engine

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// An ExecutorBlock is one `executor "TYPE" "NAME" { … }` block. Its type
// is registered in LoadOptions.Blocks as "executor.TYPE" (cmd/refeval
// registers package executor/slurm's), and Load decodes it once into
// Value, so that every problem with its settings is a load error at its
// line. The engine checks that stages name declared executors; the caller
// builds the executor from Value. Nothing in the block enters an ActionID.
type ExecutorBlock struct {
	// Type and Name are the block's labels.
	Type, Name string
	// Body is the block's body.
	Body hcl.Body
	// DeclRange is the block's header, for diagnostics.
	DeclRange hcl.Range
	// Value is what the type's BlockType.Decode made of the block (a
	// *slurm.Config); nil for a type without Decode.
	Value any

	typ         *BlockType
	decodeBlock *hcl.Block // the block without its unsupported attributes
	bad         bool       // its attributes or its decoding failed; reported
}

// Addr returns the executor's name as stages and --executor give it: TYPE.NAME.
func (e *ExecutorBlock) Addr() string { return e.Type + "." + e.Name }

// HasExecutor reports whether name is "local" or a declared executor.
func (p *Pipeline) HasExecutor(name string) bool {
	_, ok := p.Executors[name]
	return ok || name == "local"
}

func (p *Pipeline) loadExecutorBlock(blk *hcl.Block) hcl.Diagnostics {
	e := &ExecutorBlock{Type: blk.Labels[0], Name: blk.Labels[1], Body: blk.Body, DeclRange: blk.DefRange}
	if old, dup := p.Executors[e.Addr()]; dup {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Duplicate Executor",
			Detail:  fmt.Sprintf("executor %q %q is already declared at %s. Give one of them another name.", e.Type, e.Name, old.DeclRange),
			Subject: blk.DefRange.Ptr()}}
	}
	if p.Executors == nil {
		p.Executors = map[string]*ExecutorBlock{}
	}
	p.Executors[e.Addr()] = e
	e.typ = p.table.types[rootExecutor+"."+e.Type]
	if e.typ == nil {
		e.bad = true
		types := "none are registered"
		if len(p.table.executors) > 0 {
			types = "the types are: " + strings.Join(p.table.executors, ", ")
		}
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Unknown Executor Type",
			Detail:  fmt.Sprintf("There is no executor type %q; %s.", e.Type, types),
			Subject: blk.LabelRanges[0].Ptr()}}
	}
	known, diags := unsupported(blk, e.typ, fmt.Sprintf("%s %q", rootExecutor, e.Type))
	e.decodeBlock = known
	e.bad = diags.HasErrors()
	return diags
}

// readExecutor reads a stage block's executor argument: a reference
// executor.TYPE.NAME, or the string "local".
func (b *stageBlock) readExecutor(a *hcl.Attribute) hcl.Diagnostics {
	b.executorRange = a.Expr.Range()
	bad := hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid executor Argument",
		Detail:  `executor names an executor block, as in executor = executor.slurm.NAME, or is "local".`,
		Subject: a.Expr.Range().Ptr()}}
	if t, d := hcl.AbsTraversalForExpr(a.Expr); !d.HasErrors() {
		if len(t) != 3 || t.RootName() != rootExecutor {
			return bad
		}
		var parts []string
		for _, s := range t[1:] {
			at, ok := s.(hcl.TraverseAttr)
			if !ok {
				return bad
			}
			parts = append(parts, at.Name)
		}
		b.executor = strings.Join(parts, ".")
		return nil
	}
	v, d := a.Expr.Value(nil)
	if d.HasErrors() || v.Type() != cty.String || v.IsNull() || v.AsString() != "local" {
		return bad
	}
	b.executor = "local"
	return nil
}

// checkExecutors gives each instance its block's executor and reports
// executors that no block declares.
func (p *Pipeline) checkExecutors() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, b := range p.sortedBlocks() {
		if b.executor != "" && !p.HasExecutor(b.executor) {
			typ, name, _ := strings.Cut(b.executor, ".")
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Undeclared Executor",
				Detail:  fmt.Sprintf("stage.%s runs on executor.%s, which is not declared. Declare it with an executor %q %q block, or drop the executor argument to run locally.", b.id(), b.executor, typ, name),
				Subject: b.executorRange.Ptr()})
			continue
		}
		for _, in := range b.instances {
			in.Executor = b.executor
		}
	}
	return diags
}
