package engine

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// A ref is one reference found in an expression: var.x, a global (local.x,
// or TYPE.x for a registered block type: model.x, dataset.x),
// each.key/each.value, or stage.<kind>.<name> with an optional literal
// instance key. The global roots come from the pipeline's blockTable.
type ref struct {
	root   string // var, each, stage, or a global root (local, model, dataset)
	name   string // the variable's or the global's name; "kind.name" for stages
	key    string // stage instance key
	hasKey bool
	rng    hcl.Range
	// keyExpr is the index of a stage reference written
	// stage.<kind>.<name>[EXPR] with EXPR not a literal (each.key, a
	// variable): link evaluates it for each instance, so that the
	// instance depends on the one upstream instance it reads.
	keyExpr hcl.Expression
}

func (r ref) global() string { return r.root + "." + r.name }

// refsOf parses the references of an expression. It reports references
// whose shape is wrong; whether the named things exist is checkRefs's job.
func (p *Pipeline) refsOf(expr hcl.Expression) ([]ref, hcl.Diagnostics) {
	if expr == nil {
		return nil, nil
	}
	var refs []ref
	var diags hcl.Diagnostics
	var indexed map[hcl.Range]hcl.Expression
	for _, t := range expr.Variables() {
		r, d := p.parseRef(t)
		diags = append(diags, d...)
		if d.HasErrors() {
			continue
		}
		if r.root == "stage" && !r.hasKey && len(t) == 3 {
			if indexed == nil {
				indexed = indexedStages(expr)
			}
			r.keyExpr = indexed[t.SourceRange()]
		}
		refs = append(refs, r)
	}
	return refs, diags
}

// indexedStages finds, in expr, the stage references indexed by an
// expression, stage.<kind>.<name>[EXPR] (a literal index is part of the
// traversal instead), and returns each one's index by the reference's
// source range.
func indexedStages(expr hcl.Expression) map[hcl.Range]hcl.Expression {
	out := map[hcl.Range]hcl.Expression{}
	node, ok := expr.(hclsyntax.Node)
	if !ok {
		return out
	}
	hclsyntax.VisitAll(node, func(n hclsyntax.Node) hcl.Diagnostics {
		ix, ok := n.(*hclsyntax.IndexExpr)
		if !ok {
			return nil
		}
		if c, ok := ix.Collection.(*hclsyntax.ScopeTraversalExpr); ok && c.Traversal.RootName() == "stage" && len(c.Traversal) == 3 {
			out[c.Traversal.SourceRange()] = ix.Key
		}
		return nil
	})
	return out
}

func (p *Pipeline) parseRef(t hcl.Traversal) (ref, hcl.Diagnostics) {
	rng := t.SourceRange()
	root := t.RootName()
	r := ref{root: root, rng: rng}
	attr := func(i int) (string, bool) {
		if len(t) <= i {
			return "", false
		}
		switch s := t[i].(type) {
		case hcl.TraverseAttr:
			return s.Name, true
		case hcl.TraverseIndex:
			if s.Key.Type() == cty.String && s.Key.IsKnown() && !s.Key.IsNull() {
				return s.Key.AsString(), true
			}
		}
		return "", false
	}
	bad := func(summary, detail string) (ref, hcl.Diagnostics) {
		return r, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rng.Ptr()}}
	}
	switch {
	case root == "var" || p.table.isGlobalRoot(root):
		name, ok := attr(1)
		if !ok {
			return bad("Invalid Reference", fmt.Sprintf("A reference to %s must name one, as in %s.NAME.", root, root))
		}
		r.name = name
	case root == "each":
		name, ok := attr(1)
		if !ok || (name != "key" && name != "value") {
			return bad("Invalid Reference", "Use each.key or each.value inside a stage block that has for_each.")
		}
		r.name = name
	case root == "stage":
		kind, ok1 := attr(1)
		name, ok2 := attr(2)
		if !ok1 || !ok2 {
			return bad("Invalid Reference", "A reference to a stage names its kind and name, as in stage.exec.NAME.out.")
		}
		r.name = kind + "." + name
		if len(t) > 3 {
			if ix, ok := t[3].(hcl.TraverseIndex); ok {
				if ix.Key.Type() != cty.String || !ix.Key.IsKnown() || ix.Key.IsNull() {
					return bad("Invalid Reference", "A stage instance key is a string, as in stage.exec.NAME[\"key\"].out.")
				}
				r.key, r.hasKey = ix.Key.AsString(), true
			}
		}
	default:
		return bad("Unknown Reference", fmt.Sprintf("There is nothing called %q in a pipeline file. Expressions may refer to %s, stage.<kind>.<name> and, in a stage with for_each, each.key and each.value.", root, p.table.rootList()))
	}
	return r, nil
}

// checkRefs reports references to things that are not declared. inEach says
// whether each.* is allowed; where names the place for the messages.
func (p *Pipeline) checkRefs(refs []ref, inEach bool, where string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, r := range refs {
		var summary, detail string
		switch {
		case r.root == "var":
			if _, ok := p.Vars[r.name]; !ok {
				summary = "Reference To Undeclared Variable"
				detail = fmt.Sprintf("There is no variable %q. Declare it with a variable %q block, or fix the name.", r.name, r.name)
			}
		case p.table.isGlobalRoot(r.root):
			if _, ok := p.globals[r.global()]; !ok {
				summary = "Reference To Undeclared " + p.table.title(r.root)
				detail = fmt.Sprintf("There is no %s %q. Declare it, or fix the name.", p.table.what(r.root), r.name)
			}
		case r.root == "each":
			if !inEach {
				summary = "Invalid Reference To each"
				detail = fmt.Sprintf("each.%s is only available inside a stage block that has for_each; %s has none.", r.name, where)
			}
		case r.root == "stage":
			b, ok := p.blocks[r.name]
			switch {
			case !ok:
				summary = "Reference To Undeclared Stage"
				detail = fmt.Sprintf("There is no stage \"%s\" \"%s\" in this pipeline. Declare it, or fix the kind and name.", strings.Split(r.name, ".")[0], strings.SplitN(r.name, ".", 2)[1])
			case r.hasKey && b.forEach == nil:
				summary = "Unexpected Instance Key"
				detail = fmt.Sprintf("stage.%s has no for_each, so it has no instance %q. Remove the [\"%s\"].", r.name, r.key, r.key)
			}
		}
		if summary != "" {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: r.rng.Ptr()})
		}
	}
	return diags
}
