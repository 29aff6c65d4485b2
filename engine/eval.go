package engine

import (
	"context"
	"fmt"
	"maps"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// pendingPrefix starts the placeholder that stands for an upstream output
// folder before it exists (at load and plan time): a string, so that kinds
// can type-check it, that no real path starts with.
const pendingPrefix = "/.refeval-pending/"

// pendingOut is the load-time placeholder for an instance's output folder.
func pendingOut(in *Instance) string { return pendingPrefix + in.Addr }

// isPending says whether path is, or lies inside, a placeholder folder.
func isPending(path string) bool { return strings.HasPrefix(path, pendingPrefix) }

// IsPending says whether a path a stage decoded at load time lies inside an
// upstream output folder that does not exist yet (a placeholder).
func IsPending(path string) bool { return isPending(path) }

// outsFunc gives the string an instance's `out` evaluates to.
type outsFunc func(*Instance) string

// evalContext returns the context that expressions of a stage block's
// instance are evaluated in: var, local, model, dataset, stage and (for
// for_each instances) each. Each instance's out is given by outs. With b
// nil, `stage` holds every block (used while loading); otherwise only the
// blocks that b or a global refers to, since no other can be reached.
//
// Globals that reach no stage are evaluated once per pipeline
// (staticGlobals); only those that refer to a stage output, whose value
// depends on outs, are evaluated for each context. Before this, a for_each
// over a 2,000-element local evaluated that local 2,000 times.
func (p *Pipeline) evalContext(outs outsFunc, in *Instance) (*hcl.EvalContext, hcl.Diagnostics) {
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{}, Functions: functionTable()}
	ctx.Variables["var"] = p.varObject()
	ctx.Variables["stage"] = p.stageObject(outs, in)
	if in != nil && in.each != cty.NilVal {
		ctx.Variables["each"] = in.each
	}
	db := &decodedBlocks{p: p}
	ctx.Variables[blocksVar] = cty.CapsuleVal(decodedBlocksType, db)
	st := p.staticGlobals()
	diags := st.diags
	for r, obj := range st.objects {
		ctx.Variables[r] = obj
	}
	if len(st.dynamic) == 0 {
		return ctx, diags
	}
	vals := map[string]map[string]cty.Value{}
	for _, g := range st.dynamic {
		root, name, _ := strings.Cut(g.addr, ".")
		if vals[root] == nil {
			vals[root] = maps.Clone(st.vals[root])
			if vals[root] == nil {
				vals[root] = map[string]cty.Value{}
			}
		}
		v, d := g.value(ctx)
		diags = append(diags, d...)
		vals[root][name] = v
		ctx.Variables[root] = objectOf(vals[root])
		// A block that refers to a stage output is decoded with this
		// context's folders (Load decoded it once, with placeholders, and
		// reported its problems then).
		if p.blocksDecoded && g.typ != nil && g.typ.Decode != nil && !g.bad && !d.HasErrors() {
			dv, d := safeBlockDecode(g.typ, g.decodeBlock, ctx, g.addr)
			diags = append(diags, d...)
			if db.dynamic == nil {
				db.dynamic = map[string]decodedBlock{}
			}
			db.dynamic[g.addr] = decodedBlock{val: v, decoded: dv}
		}
	}
	return ctx, diags
}

// globalValues holds the values of the globals that reach no stage, computed
// once: by root (local, model, dataset) and name, as objects by root, and
// the globals left to evaluate per context, in evaluation order.
type globalValues struct {
	vals    map[string]map[string]cty.Value
	objects map[string]cty.Value
	dynamic []*global
	diags   hcl.Diagnostics
}

// varObject is the value of var, built once.
func (p *Pipeline) varObject() cty.Value {
	p.varOnce.Do(func() { p.varObj = objectOf(p.Vars) })
	return p.varObj
}

// staticGlobals evaluates, once, every global that reaches no stage output
// (directly or through other globals). Variables are final by then.
func (p *Pipeline) staticGlobals() *globalValues {
	p.staticOnce.Do(func() {
		st := &globalValues{vals: map[string]map[string]cty.Value{}, objects: map[string]cty.Value{}}
		ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": p.varObject()}, Functions: functionTable()}
		for _, r := range p.table.roots {
			st.vals[r] = map[string]cty.Value{}
			ctx.Variables[r] = cty.EmptyObjectVal
		}
		dynamic := map[string]bool{}
		for _, g := range p.order {
			for _, r := range g.refs {
				if r.root == "stage" || dynamic[r.global()] {
					dynamic[g.addr] = true
					break
				}
			}
			root, name, _ := strings.Cut(g.addr, ".")
			if dynamic[g.addr] {
				st.dynamic = append(st.dynamic, g)
				st.vals[root][name] = cty.DynamicVal
				continue
			}
			if p.ctx != nil && p.ctx.Err() != nil {
				st.diags = append(st.diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Interrupted",
					Detail: fmt.Sprintf("Loading the pipeline was interrupted (%v).", context.Cause(p.ctx))})
				break
			}
			v, d := g.value(ctx)
			st.diags = append(st.diags, d...)
			st.vals[root][name] = v
			ctx.Variables[root] = objectOf(st.vals[root])
		}
		for _, r := range p.table.roots {
			st.objects[r] = objectOf(st.vals[r])
		}
		p.static = st
	})
	return p.static
}

// value evaluates a global in ctx: a local's expression, or a block's
// attributes as an object. A value that does not evaluate is DynamicVal.
func (g *global) value(ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	g.evals.Add(1)
	if g.expr != nil {
		v, d := g.expr.Value(ctx)
		if d.HasErrors() {
			v = cty.DynamicVal
		}
		return v, d
	}
	var diags hcl.Diagnostics
	attrs := map[string]cty.Value{}
	for n, e := range g.attrs {
		av, d := e.Value(ctx)
		diags = append(diags, d...)
		attrs[n] = av
	}
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	return cty.ObjectVal(attrs), diags
}

// blockValue is the value of stage.<kind>.<name> for one block: {out}, or
// key → {out} for blocks with for_each, of the instances given (nil: all).
func blockValue(b *stageBlock, outs outsFunc, only []*Instance) cty.Value {
	if b.forEach == nil {
		if len(b.instances) == 1 {
			return outObject(outs(b.instances[0]))
		}
		return cty.DynamicVal
	}
	if only == nil {
		only = b.instances
	}
	insts := make(map[string]cty.Value, len(only))
	for _, in := range only {
		insts[in.Key] = outObject(outs(in))
	}
	return objectOf(insts)
}

// stageObject builds the value of `stage`: kind → name → block value. With
// in nil it holds every block; otherwise the blocks in the scope of in's
// block, so that evaluating n stages costs O(n · references), not O(n²).
// A for_each block that no global refers to holds only the instances in
// depends on: all of them when in uses the block whole, the one it indexes
// when every reference names one (link), so that n instances each reading
// stage.x.y[each.key] of an n-instance block cost O(n), not O(n²).
func (p *Pipeline) stageObject(outs outsFunc, in *Instance) cty.Value {
	blocks := p.blocks
	var deps map[*stageBlock][]*Instance
	if in != nil && p.expanded {
		blocks = p.scopeOf(in.block)
		deps = map[*stageBlock][]*Instance{}
		for _, u := range in.Deps {
			if u.block.forEach != nil && !p.shared[u.block] {
				deps[u.block] = append(deps[u.block], u)
			}
		}
	}
	kinds := map[string]map[string]cty.Value{}
	for _, sb := range blocks {
		if kinds[sb.kind.Name] == nil {
			kinds[sb.kind.Name] = map[string]cty.Value{}
		}
		var only []*Instance
		if deps != nil && sb.forEach != nil && !p.shared[sb] {
			only = deps[sb]
			if only == nil {
				only = []*Instance{} // a for_each block without instances
			}
		}
		kinds[sb.kind.Name][sb.name] = blockValue(sb, outs, only)
	}
	obj := map[string]cty.Value{}
	for k, names := range kinds {
		obj[k] = objectOf(names)
	}
	return objectOf(obj)
}

// scopeOf returns the blocks that expressions of b can reach: those its
// attributes, gpus and depends_on refer to, and those any local, model or
// dataset refers to (every global is evaluated with each stage). Stage
// references always name a block (refs.go), so no other block's value can
// be read. The scopes are computed once, after loading.
func (p *Pipeline) scopeOf(b *stageBlock) map[string]*stageBlock {
	p.scopeOnce.Do(func() {
		shared := map[string]*stageBlock{}
		p.shared = map[*stageBlock]bool{}
		for _, g := range p.globals {
			for _, r := range g.refs {
				if sb, ok := p.blocks[r.name]; ok && r.root == "stage" {
					shared[r.name] = sb
					p.shared[sb] = true
				}
			}
		}
		p.scopes = map[*stageBlock]map[string]*stageBlock{}
		for _, sb := range p.blocks {
			m := maps.Clone(shared)
			for _, r := range sb.refs {
				if rb, ok := p.blocks[r.name]; ok && r.root == "stage" {
					m[r.name] = rb
				}
			}
			for _, r := range sb.dependsOn {
				if rb, ok := p.blocks[r.name]; ok && r.root == "stage" {
					m[r.name] = rb
				}
			}
			p.scopes[sb] = m
		}
	})
	return p.scopes[b]
}

func outObject(out string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"out": cty.StringVal(out)})
}

func objectOf(m map[string]cty.Value) cty.Value {
	if len(m) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(m)
}

// eachValue builds the `each` object of a for_each instance.
func eachValue(key string, val cty.Value) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(key), "value": val})
}

// forEachKeys turns an evaluated for_each value into instance keys and values.
func forEachKeys(v cty.Value, rng hcl.Range) ([]string, map[string]cty.Value, hcl.Diagnostics) {
	bad := func(detail string) ([]string, map[string]cty.Value, hcl.Diagnostics) {
		return nil, nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid for_each Argument", Detail: detail, Subject: rng.Ptr()}}
	}
	if v.IsNull() {
		return bad("for_each is null. Give it a set of strings or a map.")
	}
	if !v.IsWhollyKnown() {
		return bad("for_each must be known when the pipeline is loaded; it may refer to variables and locals but not to stage outputs.")
	}
	ty := v.Type()
	vals := map[string]cty.Value{}
	switch {
	case ty.IsSetType():
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			if e.Type() != cty.String || e.IsNull() {
				return bad(fmt.Sprintf("for_each over a set needs strings, but this set holds %s. Convert the elements with tostring, or use a map.", e.Type().FriendlyName()))
			}
			vals[e.AsString()] = e
		}
	case ty.IsMapType() || ty.IsObjectType():
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			vals[k.AsString()] = e
		}
	case ty.IsListType() || ty.IsTupleType():
		return bad(fmt.Sprintf("for_each needs a set or a map, not a %s. Wrap the list in toset(...).", ty.FriendlyName()))
	default:
		return bad(fmt.Sprintf("for_each needs a set or a map, not a %s.", ty.FriendlyName()))
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, vals, nil
}
