package engine

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// orderGlobals sorts locals, models and datasets so that each comes after
// the ones it refers to, and reports cycles among them.
func (p *Pipeline) orderGlobals() hcl.Diagnostics {
	names := sortedKeys(p.globals)
	edges := map[string][]string{}
	for _, n := range names {
		for _, r := range p.globals[n].refs {
			if p.table.isGlobalRoot(r.root) {
				edges[n] = append(edges[n], r.global())
			}
		}
	}
	var diags hcl.Diagnostics
	for _, scc := range tarjan(names, edges) {
		if len(scc) > 1 || slices.Contains(edges[scc[0]], scc[0]) {
			sort.Strings(scc)
			g := p.globals[scc[0]]
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Dependency Cycle",
				Detail:  fmt.Sprintf("%s refer to each other in a cycle: %s. Break the cycle by removing one of the references.", joinAnd(scc), cyclePath(scc, edges)),
				Subject: g.rng.Ptr()})
			continue
		}
		p.order = append(p.order, p.globals[scc[0]])
	}
	return diags
}

// stageRefsOf returns the stage references that r reaches: itself if it is
// one, or those of the local, model or dataset it names, transitively.
func (p *Pipeline) stageRefsOf(r ref) []ref {
	var out []ref
	seen := map[string]bool{}
	var walk func(r ref)
	walk = func(r ref) {
		switch {
		case r.root == "stage":
			out = append(out, r)
		case p.table.isGlobalRoot(r.root):
			if seen[r.global()] {
				return
			}
			seen[r.global()] = true
			if g, ok := p.globals[r.global()]; ok {
				for _, gr := range g.refs {
					walk(gr)
				}
			}
		}
	}
	walk(r)
	return out
}

// link turns each instance's references into edges. A reference indexed
// by an expression that reaches no stage output, such as
// stage.score.judge[each.key], is an edge to the one instance its index
// names for that instance, evaluated in ctx (the load-time context, every
// instance's folder a placeholder); any other unkeyed reference is an
// edge to every instance of the block. An index that names no instance is
// reported here, with the keys there are.
func (p *Pipeline) link(blocks []*stageBlock, ctx *hcl.EvalContext) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, b := range blocks {
		// The stage references are the block's, the same for each instance.
		var srefs []linkRef
		for _, r := range b.refs {
			for _, sr := range p.stageRefsOf(r) {
				srefs = append(srefs, p.linkRefOf(sr))
			}
		}
		reported := make([]bool, len(srefs)) // one diagnostic per reference, not per instance
		for _, in := range b.instances {
			deps := map[*Instance]bool{}
			for i, sr := range srefs {
				ub, ok := p.blocks[sr.name]
				if !ok {
					continue // reported by checkRefs
				}
				if sr.hasKey {
					u, ok := p.byAddr[instanceAddr(ub.kind.Name, ub.name, sr.key, true)]
					if !ok {
						b.bad = true
						if !reported[i] {
							reported[i] = true
							diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference To Undeclared Stage Instance",
								Detail:  fmt.Sprintf("stage.%s has no instance %q; its for_each gives %s.", sr.name, sr.key, keysOf(ub)),
								Subject: sr.rng.Ptr()})
						}
						continue
					}
					deps[u] = true
					continue
				}
				if sr.keyExpr != nil && ctx != nil && (in.each != cty.NilVal || !sr.usesEach) {
					key, ok := indexValue(sr.keyExpr, in, ctx)
					u, found := p.byAddr[instanceAddr(ub.kind.Name, ub.name, key, true)]
					switch {
					case found && sr.from == "":
						deps[u] = true
						continue
					case !found && sr.from != "":
						// A stage's output folder names no instance.
						b.bad = true
						if !reported[i] {
							reported[i] = true
							diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Index Unknown At Load",
								Detail:  fmt.Sprintf("This index of stage.%s uses %s, whose output folder is only known once it has run, and names none of its instances (%s). Index with each.key, each.value, a variable or a local.", sr.name, sr.from, keysOf(ub)),
								Subject: sr.keyExpr.Range().Ptr()})
						}
						continue
					case !found && ok:
						b.bad = true
						diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Reference To Undeclared Stage Instance",
							Detail:  fmt.Sprintf("stage.%s has no instance %q, the key this index gives in %s; its for_each gives %s.", sr.name, key, in.Addr, keysOf(ub)),
							Subject: sr.keyExpr.Range().Ptr()})
						continue
					}
					// Known at load though it reaches a stage, or not a
					// value (decoding reports it): every instance.
				}
				for _, u := range ub.instances {
					deps[u] = true
				}
			}
			for u := range deps {
				in.Deps = append(in.Deps, u)
				u.Dependents = append(u.Dependents, in)
			}
		}
	}
	for _, in := range p.Stages {
		sortInstances(in.Deps)
		sortInstances(in.Dependents)
	}
	return diags
}

// A linkRef is a stage reference as link uses it: for one indexed by an
// expression (stage.<kind>.<name>[EXPR]), whether EXPR uses each and the
// first stage it reaches (stage.KIND.NAME), if any, found once per block.
// An index that reaches no stage gives, for each instance, the key the
// instance's expressions will index with; one that reaches a stage is
// known only once that stage has run.
type linkRef struct {
	ref
	usesEach bool
	from     string
}

func (p *Pipeline) linkRefOf(r ref) linkRef {
	lr := linkRef{ref: r}
	if r.keyExpr == nil {
		return lr
	}
	refs, _ := p.refsOf(r.keyExpr)
	for _, kr := range refs {
		lr.usesEach = lr.usesEach || kr.root == "each"
		if srs := p.stageRefsOf(kr); len(srs) > 0 && lr.from == "" {
			lr.from = "stage." + srs[0].name
		}
	}
	return lr
}

// indexValue evaluates the index expr for instance in, in ctx (the
// load-time context, stage folders as placeholders), as a key.
func indexValue(expr hcl.Expression, in *Instance, ctx *hcl.EvalContext) (string, bool) {
	c := ctx.NewChild()
	if in.each != cty.NilVal {
		c.Variables = map[string]cty.Value{"each": in.each}
	}
	v, diags := expr.Value(c)
	if diags.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
		return "", false
	}
	v, err := convert.Convert(v, cty.String)
	if err != nil {
		return "", false
	}
	return v.AsString(), true
}

func keysOf(b *stageBlock) string {
	var ks []string
	for _, in := range b.instances {
		ks = append(ks, fmt.Sprintf("%q", in.Key))
	}
	if len(ks) == 0 {
		return "no instances"
	}
	return strings.Join(ks, ", ")
}

// cycles reports every cycle among stage instances, naming each stage on it.
func (p *Pipeline) cycles() hcl.Diagnostics {
	names := make([]string, len(p.Stages))
	edges := map[string][]string{}
	for i, in := range p.Stages {
		names[i] = in.Addr
		for _, d := range in.Deps {
			edges[in.Addr] = append(edges[in.Addr], d.Addr)
		}
	}
	var diags hcl.Diagnostics
	for _, scc := range tarjan(names, edges) {
		if len(scc) == 1 && !slices.Contains(edges[scc[0]], scc[0]) {
			continue
		}
		sort.Slice(scc, func(i, j int) bool {
			a, b := p.byAddr[scc[i]], p.byAddr[scc[j]]
			if a.block.index != b.block.index {
				return a.block.index < b.block.index
			}
			return a.Addr < b.Addr
		})
		first := p.byAddr[scc[0]]
		detail := fmt.Sprintf("%s refers to itself. Remove the reference.", scc[0])
		if len(scc) > 1 {
			detail = fmt.Sprintf("%s refer to each other in a cycle: %s. Break the cycle by removing one of the references.", joinAnd(scc), cyclePath(scc, edges))
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Dependency Cycle", Detail: detail, Subject: first.DeclRange.Ptr()})
	}
	return diags
}

// tarjan returns the strongly connected components of a graph, each
// component after the components it has edges to (a topological order of
// the condensation, dependencies first).
func tarjan(nodes []string, edges map[string][]string) [][]string {
	index := map[string]int{}
	low := map[string]int{}
	on := map[string]bool{}
	var stack []string
	var out [][]string
	next := 0
	var strong func(v string)
	strong = func(v string) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		on[v] = true
		for _, w := range edges[v] {
			if _, seen := index[w]; !seen {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if on[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var scc []string
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				on[w] = false
				scc = append(scc, w)
				if w == v {
					break
				}
			}
			out = append(out, scc)
		}
	}
	for _, v := range nodes {
		if _, seen := index[v]; !seen {
			strong(v)
		}
	}
	return out
}

// cyclePath walks one cycle through the component, from its first member.
func cyclePath(scc []string, edges map[string][]string) string {
	in := map[string]bool{}
	for _, s := range scc {
		in[s] = true
	}
	path := []string{scc[0]}
	seen := map[string]bool{scc[0]: true}
	cur := scc[0]
	for {
		var next string
		for _, w := range edges[cur] {
			if w == scc[0] && len(path) > 1 {
				return strings.Join(append(path, w), " → ")
			}
			if in[w] && !seen[w] && next == "" {
				next = w
			}
		}
		if next == "" {
			return strings.Join(append(path, scc[0]), " → ")
		}
		path = append(path, next)
		seen[next] = true
		cur = next
	}
}

func joinAnd(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// Select returns the instances named by targets and everything they need,
// in file order; all instances when targets is empty. A target is an
// instance address, or a block address (stage.kind.name) meaning all its
// instances.
func (p *Pipeline) Select(targets []string) ([]*Instance, error) {
	if len(targets) == 0 {
		return p.Stages, nil
	}
	want := map[*Instance]bool{}
	var add func(in *Instance)
	add = func(in *Instance) {
		if want[in] {
			return
		}
		want[in] = true
		for _, d := range in.Deps {
			add(d)
		}
	}
	for _, t := range targets {
		if in, ok := p.byAddr[t]; ok {
			add(in)
			continue
		}
		b, ok := p.blocks[strings.TrimPrefix(t, "stage.")]
		if !ok {
			return nil, fmt.Errorf("no stage %s in %s; addresses look like stage.<kind>.<name>", t, p.File)
		}
		for _, in := range b.instances {
			add(in)
		}
	}
	var out []*Instance
	for _, in := range p.Stages {
		if want[in] {
			out = append(out, in)
		}
	}
	return out, nil
}

// WriteGraph writes the instance graph in Graphviz dot or Mermaid syntax;
// edges point from a stage to the stages that use its output.
func (p *Pipeline) WriteGraph(w io.Writer, format string) error {
	switch format {
	case "dot":
		fmt.Fprintf(w, "digraph pipeline {\n\trankdir=LR;\n\tnode [shape=box];\n")
		for _, in := range p.Stages {
			fmt.Fprintf(w, "\t%q;\n", in.Addr)
		}
		for _, in := range p.Stages {
			for _, d := range in.Dependents {
				fmt.Fprintf(w, "\t%q -> %q;\n", in.Addr, d.Addr)
			}
		}
		fmt.Fprintf(w, "}\n")
	case "mermaid":
		fmt.Fprintf(w, "flowchart LR\n")
		id := map[*Instance]string{}
		for i, in := range p.Stages {
			id[in] = fmt.Sprintf("s%d", i)
			fmt.Fprintf(w, "    %s[%q]\n", id[in], strings.ReplaceAll(in.Addr, `"`, "#quot;"))
		}
		for _, in := range p.Stages {
			for _, d := range in.Dependents {
				fmt.Fprintf(w, "    %s --> %s\n", id[in], id[d])
			}
		}
	default:
		return fmt.Errorf("unknown graph format %q; use dot or mermaid", format)
	}
	return nil
}
