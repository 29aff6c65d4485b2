package engine

import (
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// A BlockType is one type of top-level block, registered in
// LoadOptions.Blocks under its key, as stage kinds are registered by name
// (terraform's configs: one schema and one decoder per block type):
//
//	"model"          model "NAME" { … }, read in expressions as model.NAME
//	"dataset"        dataset "NAME" { … }, read as dataset.NAME
//	"executor.slurm" executor "slurm" "NAME" { … }, named by a stage's
//	                 executor argument as executor.slurm.NAME
//
// A key without a dot is a block with one label whose attributes
// expressions read as KEY.NAME, an object of the attributes' values (it is
// that object, not the decoded value, that enters an ActionID). A key
// "executor.TYPE" is an executor block. The engine decodes each block once,
// at load, and keeps the typed value (Pipeline.Block, BlockValue); it knows
// no block's attributes: the stages' package supplies model and dataset,
// cmd/refeval the executor types, as they supply the kinds.
type BlockType struct {
	// Attributes is the block's schema: the attributes it may set. Any
	// other is reported as Unsupported Attribute at its line, with this
	// list, and Decode does not see it. Empty: any attribute.
	Attributes []string
	// Decode reads one block into its typed value, its attributes
	// evaluated in ectx. Load calls it once per block; a block that refers
	// to a stage output is decoded with placeholder folders at load (see
	// IsPending) and again with each stage's context. The value must
	// depend only on the attributes' values (BlockValue finds blocks by
	// value). Its diagnostics should point into the block; one whose Extra
	// is SecretValue has its subject's source bytes blanked before
	// printing. Nil: the typed value is nil (an attribute bag).
	Decode func(blk *hcl.Block, ectx *hcl.EvalContext) (any, hcl.Diagnostics)
	// Secrets returns the names of the environment variables that a
	// block's decoded value needs (an endpoint's API-key variable).
	// Processes that stages start see these variables only when the stage
	// refers to the block (RunContext.HiddenEnv).
	Secrets func(v any) []string
}

// SecretValue, as a diagnostic's Extra, marks a subject that may hold a
// secret (a pasted API key): Load replaces its bytes in Files with '*', so
// that the printed source line does not show it.
type SecretValue struct{}

// Reference roots that are the engine's own; the others are the keys of
// the registered block types (blockTable).
const (
	rootLocal    = "local"    // locals { NAME = … }, read as local.NAME
	rootExecutor = "executor" // executor "TYPE" "NAME", named as executor.TYPE.NAME
)

// A blockTable is the one table of top-level block types for one load:
// the registered BlockTypes, and from them the roots that expressions may
// refer to (local plus each one-label type) and the executor types. Load's
// file schema, reference parsing and messages all read it.
type blockTable struct {
	types     map[string]*BlockType // by key: "model", "executor.slurm"
	roots     []string              // global roots: "local", then the one-label types, sorted
	executors []string              // executor types, sorted
}

// reservedRoots are names a block type key cannot take: the engine's own
// blocks and reference roots.
var reservedRoots = []string{"var", "each", "stage", rootLocal, "locals", "variable", rootExecutor}

// newBlockTable builds the table of the registered types. A key that is
// neither an identifier outside reservedRoots nor "executor.TYPE" is a bug
// in the caller's registry: it panics, as registering a kind twice does.
func newBlockTable(types map[string]*BlockType) *blockTable {
	t := &blockTable{types: types, roots: []string{rootLocal}}
	for key := range types {
		typ, isExec := strings.CutPrefix(key, rootExecutor+".")
		switch {
		case isExec && hclsyntax.ValidIdentifier(typ):
			t.executors = append(t.executors, typ)
		case !isExec && hclsyntax.ValidIdentifier(key) && !slices.Contains(reservedRoots, key):
			t.roots = append(t.roots, key)
		default:
			panic(fmt.Sprintf("engine: block type key %q is not a block type name nor executor.TYPE, or is reserved", key))
		}
	}
	sort.Strings(t.roots[1:])
	sort.Strings(t.executors)
	return t
}

// isGlobalRoot says whether root names globals: locals or a registered
// one-label block type.
func (t *blockTable) isGlobalRoot(root string) bool { return slices.Contains(t.roots, root) }

// schema is the file's top-level schema: the engine's own blocks and the
// registered ones. Executor blocks are always accepted, so that an unknown
// type is reported with the list of known ones.
func (t *blockTable) schema() *hcl.BodySchema {
	s := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "stage", LabelNames: []string{"kind", "name"}},
		{Type: rootExecutor, LabelNames: []string{"type", "name"}},
	}}
	for _, r := range t.roots {
		if r != rootLocal {
			s.Blocks = append(s.Blocks, hcl.BlockHeaderSchema{Type: r, LabelNames: []string{"name"}})
		}
	}
	return s
}

// what names a root's things in messages: "local value", "model".
func (t *blockTable) what(root string) string {
	if root == rootLocal {
		return "local value"
	}
	return root
}

// title is what, capitalized for a diagnostic's summary: "Local Value".
func (t *blockTable) title(root string) string {
	words := strings.Fields(t.what(root))
	for i, w := range words {
		words[i] = strings.ToUpper(w[:1]) + w[1:]
	}
	return strings.Join(words, " ")
}

// rootList lists what expressions may refer to, for Unknown Reference.
func (t *blockTable) rootList() string {
	var parts []string
	for _, r := range append([]string{"var"}, t.roots...) {
		parts = append(parts, r+".*")
	}
	return strings.Join(parts, ", ")
}

// unsupported reports the attributes of blk that typ does not list, and
// returns blk with them removed, for Decode.
func unsupported(blk *hcl.Block, typ *BlockType, what string) (*hcl.Block, hcl.Diagnostics) {
	if typ == nil || len(typ.Attributes) == 0 {
		return blk, nil
	}
	sb, ok := blk.Body.(*hclsyntax.Body)
	if !ok {
		return blk, nil
	}
	var diags hcl.Diagnostics
	known := hclsyntax.Attributes{}
	for _, n := range sortedKeys(sb.Attributes) {
		a := sb.Attributes[n]
		if !slices.Contains(typ.Attributes, n) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unsupported Attribute",
				Detail:  fmt.Sprintf("%s %s block has no attribute %q. Its attributes are: %s.", article(what), what, n, strings.Join(typ.Attributes, ", ")),
				Subject: a.NameRange.Ptr()})
			continue
		}
		known[n] = a
	}
	if diags == nil {
		return blk, nil
	}
	filtered := *blk
	filtered.Body = &hclsyntax.Body{Attributes: known, Blocks: sb.Blocks, SrcRange: sb.SrcRange, EndRange: sb.EndRange}
	return &filtered, diags
}

// article is "A" or "An", for what.
func article(what string) string {
	if strings.ContainsAny(what[:1], "aeiou") {
		return "An"
	}
	return "A"
}

// Block returns the decoded value of the top-level block at addr:
// "model.NAME", "dataset.NAME" or "executor.TYPE.NAME". A block whose
// attributes refer to stage outputs was decoded with placeholder folders;
// BlockValue gives its value in a stage's context.
func (p *Pipeline) Block(addr string) (any, bool) {
	if g, ok := p.globals[addr]; ok && g.block != nil && !g.bad {
		return g.decoded, true
	}
	if e, ok := p.Executors[strings.TrimPrefix(addr, rootExecutor+".")]; ok && strings.HasPrefix(addr, rootExecutor+".") && !e.bad {
		return e.Value, true
	}
	return nil, false
}

// blocksVar is the variable under which an evaluation context the engine
// made holds its decodedBlocks. It is not an HCL identifier, so no
// expression can refer to it.
const blocksVar = "refeval:blocks"

// decodedBlocks are the decoded values of the blocks visible in one
// evaluation context, with the values expressions see for them: static
// blocks are the pipeline's (decoded once, at load); blocks that refer to
// stage outputs are decoded with the context's folders.
type decodedBlocks struct {
	p       *Pipeline
	dynamic map[string]decodedBlock // by address
}

type decodedBlock struct {
	val     cty.Value // the object expressions see
	decoded any
}

var decodedBlocksType = cty.Capsule("decodedBlocks", reflect.TypeOf(decodedBlocks{}))

// BlockValue returns the decoded value of the top-level block that v is the
// value of, in an evaluation context the engine made (a kind's Decode gets
// one): a stage attribute model = model.judge, or one that reaches the
// block through a local or each.value, gets the value the block's
// BlockType.Decode made, not an object to decode again. A block is found
// by its value, which flows unchanged through locals, for_each and
// conditionals: an object written in place that equals a block's value is
// taken as that block, which is right as long as Decode's value depends
// only on the attributes (it must). False when v is no block's value or
// ectx is not the engine's.
func BlockValue(ectx *hcl.EvalContext, v cty.Value) (any, bool) {
	if v == cty.NilVal || !v.Type().IsObjectType() || !v.IsWhollyKnown() {
		return nil, false
	}
	for c := ectx; c != nil; c = c.Parent() {
		bv, ok := c.Variables[blocksVar]
		if !ok {
			continue
		}
		db := bv.EncapsulatedValue().(*decodedBlocks)
		return db.find(ectx, v)
	}
	return nil, false
}

// find looks v up among the blocks: the dynamic ones of this context, then
// the static ones by the value the context holds for them.
func (db *decodedBlocks) find(ectx *hcl.EvalContext, v cty.Value) (any, bool) {
	for _, n := range sortedKeys(db.dynamic) {
		if d := db.dynamic[n]; d.val.RawEquals(v) {
			return d.decoded, true
		}
	}
	st := db.p.staticGlobals()
	for _, g := range db.p.order {
		if g.block == nil || g.bad || g.typ == nil || g.typ.Decode == nil {
			continue
		}
		if _, dyn := db.dynamic[g.addr]; dyn {
			continue
		}
		root, name, _ := strings.Cut(g.addr, ".")
		if sv, ok := st.vals[root][name]; ok && sv.RawEquals(v) {
			return g.decoded, true
		}
	}
	return nil, false
}

// decodeBlocks decodes every registered top-level block once, with its
// attributes evaluated in ctx, keeps the typed values and the secrets they
// need, and marks the blocks that fail.
func (p *Pipeline) decodeBlocks(ctx *hcl.EvalContext) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, g := range p.order {
		if g.typ == nil || g.block == nil {
			continue
		}
		if g.typ.Decode != nil {
			v, d := safeBlockDecode(g.typ, g.decodeBlock, ctx, g.addr)
			diags = append(diags, d...)
			if d.HasErrors() {
				g.bad = true
				continue
			}
			g.decoded = v
		}
		if g.typ.Secrets != nil && !g.bad {
			g.secrets = g.typ.Secrets(g.decoded)
		}
	}
	for _, n := range sortedKeys(p.Executors) {
		e := p.Executors[n]
		if e.typ == nil || e.typ.Decode == nil {
			continue
		}
		v, d := safeBlockDecode(e.typ, e.decodeBlock, ctx, rootExecutor+"."+n)
		diags = append(diags, d...)
		e.bad = e.bad || d.HasErrors()
		if !e.bad {
			e.Value = v
		}
	}
	p.blocksDecoded = true
	return diags
}

// safeBlockDecode calls typ.Decode and turns a panic into a diagnostic.
func safeBlockDecode(typ *BlockType, blk *hcl.Block, ctx *hcl.EvalContext, addr string) (v any, diags hcl.Diagnostics) {
	defer func() {
		if r := recover(); r != nil {
			v = nil
			diags = hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Block Type Failed",
				Detail:  fmt.Sprintf("Decoding %s panicked: %v. This is a bug in its block type; please report it.", addr, r),
				Subject: blk.DefRange.Ptr()}}
		}
	}()
	v, diags = typ.Decode(blk, ctx)
	for _, d := range diags {
		if d.Subject == nil {
			d.Subject = blk.DefRange.Ptr()
		}
	}
	return v, diags
}
