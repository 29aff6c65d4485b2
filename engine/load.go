package engine

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"golang.org/x/sync/errgroup"
)

// LoadOptions says how to load a pipeline file.
type LoadOptions struct {
	// Lookup finds a stage kind by name; cmd/refeval passes stages.Lookup.
	Lookup func(name string) (*Kind, bool)
	// Kinds lists the known kind names for error messages (optional).
	Kinds func() []string
	// Vars holds variable values as given on the command line (--var
	// name=value): strings, or HCL expressions for variables whose type is
	// not string.
	Vars map[string]string
	// Blocks registers the top-level block types by key: "model",
	// "dataset", "executor.slurm" (see BlockType). A one-label block type
	// that is not registered is not accepted, nor is an executor block
	// whose type is not.
	Blocks map[string]*BlockType
	// Context, when set, stops loading early once it is cancelled (Ctrl-C
	// while a large pipeline loads): Load then returns an "Interrupted"
	// diagnostic. One expression's evaluation is not interrupted; callers
	// that must answer at once run Load in a goroutine (cmd/refeval does).
	Context context.Context
}

// maxSyntaxErrors caps the syntax errors reported for one file: past a few,
// the file is likely not a pipeline at all (a binary file printed 280).
const maxSyntaxErrors = 5

// interrupted returns the diagnostic for a load stopped by its context, or
// nil while the context is live.
func (o *LoadOptions) interrupted() hcl.Diagnostics {
	if o.Context == nil || o.Context.Err() == nil {
		return nil
	}
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Interrupted",
		Detail: fmt.Sprintf("Loading the pipeline was interrupted (%v).", context.Cause(o.Context))}}
}

// Shared arguments every stage block may have, read by the engine before
// the kind decodes the rest (terraform configs decodeResourceBlock).
var sharedSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "for_each"}, {Name: "gpus"}, {Name: "depends_on"}, {Name: "executor"}},
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "default"}, {Name: "type"}, {Name: "description"}},
}

// Load reads the pipeline file at path. It reports every problem it finds as
// a diagnostic, all of them at once; it runs nothing, touches no cache and
// only reads the pipeline file and stats the stages' input files. The
// returned Pipeline is never nil; use it only when the diagnostics hold no
// error.
func Load(path string, opts LoadOptions) (*Pipeline, hcl.Diagnostics) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	p := &Pipeline{
		File:     abs,
		Dir:      filepath.Dir(abs),
		Files:    map[string]*hcl.File{},
		Vars:     map[string]cty.Value{},
		byAddr:   map[string]*Instance{},
		blocks:   map[string]*stageBlock{},
		globals:  map[string]*global{},
		table:    newBlockTable(opts.Blocks),
		LoadVars: opts.Vars,
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return p, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot Read Pipeline File", Detail: fmt.Sprintf("%v. Check the path.", err)}}
	}
	if d := notText(src, path); d != nil {
		return p, d
	}
	parser := hclparse.NewParser()
	f, diags := parseHCL(parser, src, path) // checks nesting first (nesting.go)
	p.Files = parser.Files()
	if diags.HasErrors() {
		return p, capErrors(diags, path)
	}
	content, d := f.Body.Content(p.table.schema())
	diags = append(diags, d...)

	var stageBlocks []*hcl.Block
	for _, blk := range content.Blocks {
		switch blk.Type {
		case "variable":
			diags = append(diags, p.loadVariable(blk, opts.Vars)...)
		case "locals":
			attrs, d := blk.Body.JustAttributes()
			diags = append(diags, d...)
			for _, a := range sortedAttrs(attrs) {
				diags = append(diags, p.addGlobal(&global{addr: rootLocal + "." + a.Name, expr: a.Expr, rng: a.NameRange}, "Duplicate Local Value")...)
			}
		case "stage":
			stageBlocks = append(stageBlocks, blk)
		case rootExecutor:
			diags = append(diags, p.loadExecutorBlock(blk)...)
		default: // a registered one-label block type (the schema holds no other)
			diags = append(diags, p.loadGlobalBlock(blk)...)
		}
	}
	for name := range opts.Vars {
		if _, ok := p.Vars[name]; !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Undeclared Variable",
				Detail: fmt.Sprintf("--var %s was given, but %s declares no variable %q. Declare it with a variable block or drop the flag.", name, path, name)})
		}
	}
	for i, blk := range stageBlocks {
		if d := opts.interrupted(); d != nil {
			return p, append(diags, d...)
		}
		diags = append(diags, p.loadStageBlock(blk, i, opts)...)
	}

	// References: parse and check every one before evaluating anything, so
	// that each problem is reported once.
	var gnames []string
	for n := range p.globals {
		gnames = append(gnames, n)
	}
	sort.Strings(gnames)
	globalsBad := false
	for _, n := range gnames {
		g := p.globals[n]
		exprs := []hcl.Expression{g.expr}
		for _, an := range sortedKeys(g.attrs) {
			exprs = append(exprs, g.attrs[an])
		}
		for _, e := range exprs {
			refs, d := p.refsOf(e)
			d = append(d, p.checkRefs(refs, false, g.addr)...)
			globalsBad = globalsBad || d.HasErrors()
			diags = append(diags, d...)
			g.refs = append(g.refs, refs...)
		}
	}
	blocks := p.sortedBlocks()
	for _, b := range blocks {
		d := p.checkRefs(b.refs, b.forEach != nil, "stage."+b.id())
		b.bad = b.bad || d.HasErrors()
		diags = append(diags, d...)
	}
	if globalsBad {
		return p, diags
	}
	d = p.orderGlobals()
	diags = append(diags, d...)
	if d.HasErrors() {
		return p, diags
	}

	// Instances.
	p.ctx = opts.Context
	staticCtx, d := p.evalContext(pendingOut, nil)
	diags = append(diags, d...)
	if d.HasErrors() {
		return p, diags
	}
	if d := opts.interrupted(); d != nil {
		return p, append(diags, d...)
	}
	for _, b := range blocks {
		if d := opts.interrupted(); d != nil {
			return p, append(diags, d...)
		}
		diags = append(diags, p.expand(b, staticCtx)...)
	}
	// Indexes of stage references (link) and top-level blocks are
	// evaluated once the stages have their instances, so that a reference
	// to a stage output reads a placeholder. (A local that fails with
	// placeholders is reported at the stages that use it, as before.)
	instCtx, _ := p.evalContext(pendingOut, nil)
	diags = append(diags, p.link(blocks, instCtx)...)
	p.expanded = true
	diags = append(diags, p.decodeBlocks(instCtx)...)
	diags = append(diags, p.checkExecutors()...)
	d = p.cycles()
	diags = append(diags, d...)
	if d.HasErrors() {
		return p, diags
	}
	for _, v := range p.Vars {
		if !v.IsWhollyKnown() {
			return p, diags // a variable without a value, reported above
		}
	}
	// The instances decode concurrently, as a build computes their
	// actions; their diagnostics are reported in file order.
	each := make([]hcl.Diagnostics, len(p.Stages))
	var g errgroup.Group
	g.SetLimit(runtime.GOMAXPROCS(0))
	var interrupted hcl.Diagnostics
	for i, in := range p.Stages {
		if interrupted = opts.interrupted(); interrupted != nil {
			break
		}
		g.Go(func() error {
			each[i] = p.decodeInstance(in)
			return nil
		})
	}
	g.Wait()
	for _, d := range each {
		diags = append(diags, d...)
	}
	if interrupted != nil {
		return p, append(diags, interrupted...)
	}
	p.blankSecrets(diags)
	return p, diags
}

// decodeInstance decodes in, sets in.stage, and checks its inputs.
func (p *Pipeline) decodeInstance(in *Instance) hcl.Diagnostics {
	if in.block.bad || p.reachesBadGlobal(in.block) {
		return nil // reported once, at the block or global
	}
	// One evaluation context for decoding and for the kind's input check:
	// building it evaluates the globals the stage reaches.
	ctx, diags := p.evalContext(pendingOut, in)
	if diags.HasErrors() {
		return diags
	}
	st, d := p.decodeIn(in, ctx)
	diags = append(diags, d...)
	in.stage = st
	if st != nil {
		d := p.checkInputs(in, st)
		diags = append(diags, d...)
		if !d.HasErrors() && in.Kind.CheckInputs != nil {
			diags = append(diags, in.Kind.CheckInputs(in.block.remain, ctx, p.Dir)...)
		}
	}
	return diags
}

// notText reports a pipeline file that is not text (a NUL byte, or bytes
// that are not UTF-8), instead of one syntax error per stray byte.
func notText(src []byte, path string) hcl.Diagnostics {
	head := src[:min(len(src), 64<<10)]
	bad := bytes.IndexByte(head, 0)
	if bad < 0 && !utf8.Valid(head) {
		for i := 0; i < len(head); {
			r, n := utf8.DecodeRune(head[i:])
			if r == utf8.RuneError && n == 1 && len(head)-i >= utf8.UTFMax {
				bad = i
				break
			}
			i += n
		}
	}
	if bad < 0 {
		return nil
	}
	what := fmt.Sprintf("holds binary data (a NUL byte at offset %d)", bad)
	if src[bad] != 0 {
		what = fmt.Sprintf("is not UTF-8 text (the byte at offset %d is not valid UTF-8)", bad)
	}
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Not A Pipeline File",
		Detail: fmt.Sprintf("%s %s. A pipeline file is HCL text in UTF-8; check the path, or convert the file to UTF-8.", path, what)}}
}

// capErrors keeps the first maxSyntaxErrors errors and says how many more
// there were.
func capErrors(diags hcl.Diagnostics, path string) hcl.Diagnostics {
	var out hcl.Diagnostics
	n := 0
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			n++
			if n > maxSyntaxErrors {
				continue
			}
		}
		out = append(out, d)
	}
	if n > maxSyntaxErrors {
		out = append(out, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Too Many Syntax Errors",
			Detail: fmt.Sprintf("%s has %d more syntax errors after these %d. Is it a pipeline file? Fix the first ones and load it again.", path, n-maxSyntaxErrors, maxSyntaxErrors)})
	}
	return out
}

// HiddenEnv returns the environment variables that processes started by
// in's stage must not inherit: the secrets (API-key variables) of every
// model block that the stage does not refer to, directly or through
// locals. An exec stage that names model.judge sees its key; the others
// do not.
func (p *Pipeline) HiddenEnv(in *Instance) []string {
	allowed := map[string]bool{}
	refs := in.block.refs
	if in.block.forEach != nil { // for_each = { judge = model.judge }, read as each.value
		more, _ := p.refsOf(in.block.forEach)
		refs = append(slices.Clone(refs), more...)
	}
	p.reachGlobals(refs, func(g *global) bool {
		for _, s := range g.secrets {
			allowed[s] = true
		}
		return false
	})
	var hidden []string
	for _, n := range sortedKeys(p.globals) {
		for _, s := range p.globals[n].secrets {
			if !allowed[s] && !slices.Contains(hidden, s) {
				hidden = append(hidden, s)
			}
		}
	}
	return hidden
}

// reachesBadGlobal says whether a block refers, directly or through other
// globals, to a global whose check failed: its decode would only report
// the same problem again, at the reference instead of at its cause.
func (p *Pipeline) reachesBadGlobal(b *stageBlock) bool {
	return p.reachGlobals(b.refs, func(g *global) bool { return g.bad })
}

// reachGlobals calls visit once for each declared global (a local, a
// model, a dataset) that refs name, directly or through other globals,
// until visit returns true; it reports whether one did.
func (p *Pipeline) reachGlobals(refs []ref, visit func(*global) bool) bool {
	seen := map[string]bool{}
	var walk func(refs []ref) bool
	walk = func(refs []ref) bool {
		for _, r := range refs {
			if !p.table.isGlobalRoot(r.root) || seen[r.global()] {
				continue
			}
			seen[r.global()] = true
			g, ok := p.globals[r.global()]
			if ok && (visit(g) || walk(g.refs)) {
				return true
			}
		}
		return false
	}
	return walk(refs)
}

// blankSecrets replaces the source bytes of subjects marked SecretValue
// with '*', so that printing the diagnostics does not show them.
func (p *Pipeline) blankSecrets(diags hcl.Diagnostics) {
	for _, d := range diags {
		if _, ok := d.Extra.(SecretValue); !ok || d.Subject == nil {
			continue
		}
		f := p.Files[d.Subject.Filename]
		if f == nil || d.Subject.End.Byte > len(f.Bytes) {
			continue
		}
		b := bytes.Clone(f.Bytes)
		for i := d.Subject.Start.Byte; i < d.Subject.End.Byte; i++ {
			if b[i] != '"' && b[i] != '\n' {
				b[i] = '*'
			}
		}
		p.Files[d.Subject.Filename] = &hcl.File{Body: f.Body, Bytes: b, Nav: f.Nav}
	}
}

// loadGlobalBlock takes a block of a registered one-label type (model,
// dataset) as the global TYPE.NAME: its attributes, the ones its type
// lists, are evaluated as an object when a stage refers to it.
func (p *Pipeline) loadGlobalBlock(blk *hcl.Block) hcl.Diagnostics {
	typ := p.table.types[blk.Type]
	g := &global{addr: blk.Type + "." + blk.Labels[0], attrs: map[string]hcl.Expression{}, rng: blk.DefRange, block: blk, typ: typ}
	known, diags := unsupported(blk, typ, blk.Type)
	g.bad = diags.HasErrors()
	g.decodeBlock = known
	attrs, d := known.Body.JustAttributes()
	diags = append(diags, d...)
	for _, a := range sortedAttrs(attrs) {
		g.attrs[a.Name] = a.Expr
	}
	return append(diags, p.addGlobal(g, "Duplicate "+p.table.title(blk.Type))...)
}

func (p *Pipeline) addGlobal(g *global, dupSummary string) hcl.Diagnostics {
	if old, dup := p.globals[g.addr]; dup {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: dupSummary,
			Detail:  fmt.Sprintf("%s is already declared at %s. Give one of them another name.", g.addr, old.rng),
			Subject: g.rng.Ptr()}}
	}
	p.globals[g.addr] = g
	return nil
}

func (p *Pipeline) loadVariable(blk *hcl.Block, given map[string]string) hcl.Diagnostics {
	name := blk.Labels[0]
	content, diags := blk.Body.Content(variableSchema)
	if _, dup := p.Vars[name]; dup {
		return append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate Variable",
			Detail: fmt.Sprintf("Variable %q is declared twice. Remove or rename one.", name), Subject: blk.DefRange.Ptr()})
	}
	if !hclsyntax.ValidIdentifier(name) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid Variable Name",
			Detail: "A variable name starts with a letter and holds letters, digits, underscores and dashes.", Subject: blk.LabelRanges[0].Ptr()})
	}
	ty := cty.DynamicPseudoType
	if a, ok := content.Attributes["type"]; ok {
		t, d := typeexpr.TypeConstraint(a.Expr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			ty = t
		}
	}
	val := cty.NilVal
	if a, ok := content.Attributes["default"]; ok {
		v, d := a.Expr.Value(nil)
		diags = append(diags, d...)
		if !d.HasErrors() {
			cv, err := convert.Convert(v, ty)
			if err != nil {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid Default Value",
					Detail: fmt.Sprintf("The default of variable %q does not fit its type: %v.", name, err), Subject: a.Expr.Range().Ptr()})
			} else {
				val = cv
			}
		}
	}
	if s, ok := given[name]; ok {
		v, d := parseVar(name, s, ty)
		for _, diag := range d {
			if diag.Subject == nil || diag.Subject.Filename == "--var "+name {
				diag.Subject = blk.DefRange.Ptr() // the flag has no source; point at the declaration
			}
		}
		diags = append(diags, d...)
		if !d.HasErrors() {
			val = v
		}
	}
	if val == cty.NilVal {
		if !diags.HasErrors() {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing Variable Value",
				Detail:  fmt.Sprintf("Variable %q has no default. Give one in its block, or pass --var %s=VALUE.", name, name),
				Subject: blk.DefRange.Ptr()})
		}
		val = cty.DynamicVal
	}
	p.Vars[name] = val
	return diags
}

// parseVar turns a --var value into a value of the variable's type: a string
// as is for string (and untyped) variables, an HCL expression otherwise.
func parseVar(name, s string, ty cty.Type) (cty.Value, hcl.Diagnostics) {
	if ty == cty.DynamicPseudoType || ty == cty.String {
		return cty.StringVal(s), nil
	}
	bad := func(why string) (cty.Value, hcl.Diagnostics) {
		hint := ""
		if ty.IsListType() || ty.IsSetType() || ty.IsMapType() || ty.IsObjectType() || ty.IsTupleType() {
			hint = ` Write it as an HCL value, such as --var '` + name + `=["a", "b"]' (strings quoted).`
		}
		return cty.NilVal, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid Variable Value",
			Detail: fmt.Sprintf("--var %s=%s does not fit variable %q, declared here with type %s: %s.%s", name, s, name, ty.FriendlyName(), why, hint)}}
	}
	expr, diags := hclsyntax.ParseExpression([]byte(s), "--var "+name, hcl.InitialPos)
	if diags.HasErrors() {
		return bad("it is not a value of that type")
	}
	if len(expr.Variables()) > 0 {
		return bad(fmt.Sprintf("%s is not a %s", s, ty.FriendlyName()))
	}
	v, diags := expr.Value(&hcl.EvalContext{Functions: functions()})
	if diags.HasErrors() {
		return bad(diags[0].Summary)
	}
	cv, err := convert.Convert(v, ty)
	if err != nil {
		return bad(err.Error())
	}
	return cv, nil
}

func (p *Pipeline) loadStageBlock(blk *hcl.Block, index int, opts LoadOptions) hcl.Diagnostics {
	kindName, name := blk.Labels[0], blk.Labels[1]
	var diags hcl.Diagnostics
	var kind *Kind
	if opts.Lookup != nil {
		kind, _ = opts.Lookup(kindName)
	}
	if kind == nil {
		detail := fmt.Sprintf("There is no stage kind %q.", kindName)
		if opts.Kinds != nil {
			detail += " The kinds are: " + strings.Join(opts.Kinds(), ", ") + "."
		}
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Unknown Stage Kind", Detail: detail, Subject: blk.LabelRanges[0].Ptr()}}
	}
	if !hclsyntax.ValidIdentifier(name) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid Stage Name",
			Detail: "A stage name starts with a letter and holds letters, digits, underscores and dashes.", Subject: blk.LabelRanges[1].Ptr()})
	}
	id := kindName + "." + name
	if old, dup := p.blocks[id]; dup {
		return append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate Stage",
			Detail:  fmt.Sprintf("stage %q %q is already declared at %s. Give one of them another name.", kindName, name, old.block.DefRange),
			Subject: blk.DefRange.Ptr()})
	}
	content, remain, d := blk.Body.PartialContent(sharedSchema)
	diags = append(diags, d...)
	b := &stageBlock{kind: kind, name: name, block: blk, remain: remain, attrs: map[string]*hclsyntax.Attribute{}, index: index}
	p.blocks[id] = b
	defer func() {
		// The kind sees only its own attributes: unknown ones and nested
		// blocks are reported here once, with the list of valid names.
		if sb, ok := blk.Body.(*hclsyntax.Body); ok {
			known := hclsyntax.Attributes{}
			for n, a := range sb.Attributes {
				if _, shared := content.Attributes[n]; shared || b.attrs[n] != nil {
					known[n] = a
				}
			}
			filtered := &hclsyntax.Body{Attributes: known, SrcRange: sb.SrcRange, EndRange: sb.EndRange}
			_, b.remain, _ = filtered.PartialContent(sharedSchema)
		}
	}()

	known := map[string]bool{}
	if kind.Schema != nil {
		for _, a := range kind.Schema.Attributes {
			known[a.Name] = true
		}
	}
	if sb, ok := blk.Body.(*hclsyntax.Body); ok {
		for _, n := range sortedKeys(sb.Attributes) {
			a := sb.Attributes[n]
			if _, shared := content.Attributes[n]; shared {
				continue
			}
			if !known[n] {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported Attribute",
					Detail:  fmt.Sprintf("Stage kind %q has no attribute %q. Its attributes are: %s.", kindName, n, strings.Join(append(sortedKeys(known), "for_each", "gpus", "depends_on", "executor"), ", ")),
					Subject: a.NameRange.Ptr()})
				continue
			}
			b.attrs[n] = a
		}
		for _, inner := range sb.Blocks {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unexpected Block",
				Detail:  fmt.Sprintf("Stage blocks hold attributes only; write %s = {...} instead of a %q block.", inner.Type, inner.Type),
				Subject: inner.TypeRange.Ptr()})
		}
	}
	for _, n := range sortedKeys(b.attrs) {
		refs, d := p.refsOf(b.attrs[n].Expr)
		diags = append(diags, d...)
		b.bad = b.bad || d.HasErrors() // a malformed reference: its scope lacks what it names
		b.refs = append(b.refs, refs...)
	}
	if a, ok := content.Attributes["for_each"]; ok {
		b.forEach = a.Expr
	}
	if a, ok := content.Attributes["gpus"]; ok {
		b.gpus = a.Expr
	}
	if a, ok := content.Attributes["executor"]; ok {
		diags = append(diags, b.readExecutor(a)...)
	}
	if a, ok := content.Attributes["depends_on"]; ok {
		exprs, d := hcl.ExprList(a.Expr)
		diags = append(diags, d...)
		for _, e := range exprs {
			t, d := hcl.AbsTraversalForExpr(e)
			if d.HasErrors() {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid depends_on",
					Detail: "depends_on lists stage references, as in [stage.exec.NAME].", Subject: e.Range().Ptr()})
				continue
			}
			r, d := p.parseRef(t)
			diags = append(diags, d...)
			if d.HasErrors() {
				continue
			}
			if r.root != "stage" {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid depends_on",
					Detail: "depends_on lists stage references, as in [stage.exec.NAME].", Subject: e.Range().Ptr()})
				continue
			}
			b.dependsOn = append(b.dependsOn, r)
			b.refs = append(b.refs, r)
		}
	}
	return diags
}

// expand evaluates a block's for_each and gpus and creates its instances.
func (p *Pipeline) expand(b *stageBlock, ctx *hcl.EvalContext) hcl.Diagnostics {
	var diags hcl.Diagnostics
	staticOnly := func(expr hcl.Expression, what string) bool {
		refs, d := p.refsOf(expr)
		d = append(d, p.checkRefs(refs, what == "gpus" && b.forEach != nil, "stage."+b.id())...)
		if d.HasErrors() {
			diags = append(diags, d...)
			return false
		}
		for _, r := range refs {
			if r.root == "stage" || (r.root != "var" && r.root != "each" && len(p.stageRefsOf(r)) > 0) {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid " + what + " Argument",
					Detail:  what + " must be known when the pipeline is loaded: it may refer to variables and locals, not to stage outputs.",
					Subject: r.rng.Ptr()})
				return false
			}
			if r.root == "each" && what == "for_each" {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid for_each Argument",
					Detail: "for_each cannot refer to each.", Subject: r.rng.Ptr()})
				return false
			}
		}
		return true
	}
	gpus := 0
	type inst struct {
		key  string
		val  cty.Value
		keyd bool
	}
	var insts []inst
	gpusOK := b.gpus != nil && staticOnly(b.gpus, "gpus")
	if b.forEach == nil {
		insts = []inst{{}}
	} else if staticOnly(b.forEach, "for_each") {
		v, d := b.forEach.Value(ctx)
		diags = append(diags, d...)
		if !d.HasErrors() {
			keys, vals, d := forEachKeys(v, b.forEach.Range())
			diags = append(diags, d...)
			for _, k := range keys {
				insts = append(insts, inst{key: k, val: vals[k], keyd: true})
			}
		}
	}
	for _, it := range insts {
		in := &Instance{
			Addr: instanceAddr(b.kind.Name, b.name, it.key, it.keyd), Kind: b.kind, Name: b.name,
			Key: it.key, HasKey: it.keyd, DeclRange: b.block.DefRange, block: b,
		}
		if it.keyd {
			in.each = eachValue(it.key, it.val)
		}
		if gpusOK {
			ectx := ctx
			if in.each != cty.NilVal {
				ectx = ctx.NewChild()
				ectx.Variables = map[string]cty.Value{"each": in.each}
			}
			v, d := b.gpus.Value(ectx)
			diags = append(diags, d...)
			if !d.HasErrors() {
				n, ok := wholeNumber(v)
				if !ok {
					diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid gpus Argument",
						Detail: "gpus is a whole number of devices, 0 or more.", Subject: b.gpus.Range().Ptr()})
				}
				gpus = n
			}
		}
		in.GPUs = gpus
		b.instances = append(b.instances, in)
		p.byAddr[in.Addr] = in
		p.Stages = append(p.Stages, in)
	}
	return diags
}

func wholeNumber(v cty.Value) (int, bool) {
	v, err := convert.Convert(v, cty.Number)
	if err != nil || v.IsNull() || !v.IsKnown() {
		return 0, false
	}
	bf := v.AsBigFloat()
	if !bf.IsInt() || bf.Sign() < 0 {
		return 0, false
	}
	n, _ := bf.Int64()
	if n > 1<<16 {
		return 0, false
	}
	return int(n), true
}

// decode evaluates an instance's attributes with upstream outputs given by
// outs and hands them to its kind.
func (p *Pipeline) decode(in *Instance, outs outsFunc) (Stage, hcl.Diagnostics) {
	ctx, diags := p.evalContext(outs, in)
	if diags.HasErrors() {
		return nil, diags
	}
	st, d := p.decodeIn(in, ctx)
	return st, append(diags, d...)
}

// decodeIn decodes in with the evaluation context ctx (evalContext).
func (p *Pipeline) decodeIn(in *Instance, ctx *hcl.EvalContext) (Stage, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	st, d := safeDecode(in, ctx)
	for _, diag := range d {
		if diag.Subject == nil {
			// Every load error names file, line and column: a kind's
			// diagnostic without a range points at its stage block.
			diag.Subject = in.DeclRange.Ptr()
		}
	}
	diags = append(diags, d...)
	if diags.HasErrors() {
		return nil, diags
	}
	if st == nil {
		return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Stage Kind Returned No Stage",
			Detail: fmt.Sprintf("Kind %q decoded %s into nothing; this is a bug in the kind.", in.Kind.Name, in.Addr), Subject: in.DeclRange.Ptr()})
	}
	return st, diags
}

// checkInputs reports input files that do not exist. The subject is the
// attribute whose value names the file, or the block.
func (p *Pipeline) checkInputs(in *Instance, st Stage) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, path := range st.Inputs() {
		if isPending(path) {
			continue
		}
		full := path
		if !filepath.IsAbs(full) {
			full = filepath.Join(p.Dir, full)
		}
		if _, err := os.Stat(full); err == nil {
			continue
		}
		subject := p.inputSubject(in, path)
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing Input File",
			Detail:  fmt.Sprintf("%s reads %s, which does not exist. Create it or fix the path (relative paths start at %s).", in.Addr, path, p.Dir),
			Subject: subject.Ptr()})
	}
	return diags
}

// inputSubject returns the range of the attribute that names an input path,
// for a diagnostic about it: the first that holds the path as a quoted
// string, then the first that mentions its base name, trying an attribute
// called inputs first (a command often names the same file); else the
// block's header.
func (p *Pipeline) inputSubject(in *Instance, path string) hcl.Range {
	names := sortedKeys(in.block.attrs)
	if i := slices.Index(names, "inputs"); i > 0 {
		names = append([]string{"inputs"}, slices.Delete(names, i, i+1)...)
	}
	src := func(a *hclsyntax.Attribute) string {
		f := p.Files[a.SrcRange.Filename]
		if f == nil {
			return ""
		}
		return string(a.SrcRange.SliceBytes(f.Bytes))
	}
	for _, want := range []string{`"` + path + `"`, filepath.Base(path)} {
		for _, n := range names {
			if a := in.block.attrs[n]; strings.Contains(src(a), want) {
				return a.SrcRange
			}
		}
	}
	return in.DeclRange
}

func sortedAttrs(attrs hcl.Attributes) []*hcl.Attribute {
	out := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Range.Start.Byte < out[j].Range.Start.Byte })
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

func (p *Pipeline) sortedBlocks() []*stageBlock {
	bs := make([]*stageBlock, 0, len(p.blocks))
	for _, b := range p.blocks {
		bs = append(bs, b)
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].index < bs[j].index })
	return bs
}

// safeDecode calls the kind's Decode and turns a panic into a diagnostic.
func safeDecode(in *Instance, ctx *hcl.EvalContext) (st Stage, diags hcl.Diagnostics) {
	defer func() {
		if r := recover(); r != nil {
			st = nil
			diags = hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Stage Kind Failed",
				Detail:  fmt.Sprintf("Kind %q panicked while decoding %s: %v. This is a bug in the kind; please report it.", in.Kind.Name, in.Addr, r),
				Subject: in.DeclRange.Ptr()}}
		}
	}()
	return in.Kind.Decode(in.block.remain, ctx)
}
