package engine

import (
	"context"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// A Pipeline is a loaded pipeline file: its stage instances and the edges
// between them. Load returns one even when it reports errors, so that the
// caller can print the diagnostics against Files.
type Pipeline struct {
	// File is the pipeline file's absolute path.
	File string
	// Dir is the pipeline file's folder: commands run there and relative
	// paths resolve against it.
	Dir string
	// Files holds the parsed sources, for hcl.NewDiagnosticTextWriter.
	Files map[string]*hcl.File
	// Vars holds the final value of every variable.
	Vars map[string]cty.Value
	// Stages holds every stage instance in file order (instances of one
	// for_each block sorted by key).
	Stages []*Instance
	// Executors holds the executor blocks by TYPE.NAME.
	Executors map[string]*ExecutorBlock
	// LoadVars holds the --var values the pipeline was loaded with, so that
	// a remote executor can load it the same way.
	LoadVars map[string]string

	byAddr  map[string]*Instance
	blocks  map[string]*stageBlock // by "kind.name"
	globals map[string]*global     // by "local.x", "model.x", "dataset.x"
	order   []*global              // globals in evaluation order
	table   *blockTable            // the registered block types and the reference roots

	blocksDecoded bool // decodeBlocks ran: evalContext decodes the blocks that refer to stages

	expanded  bool // every block has its instances
	scopeOnce sync.Once
	scopes    map[*stageBlock]map[string]*stageBlock // blocks each block's expressions can reach (scopeOf)
	shared    map[*stageBlock]bool                   // blocks a global refers to (scopeOf)

	ctx        context.Context // the loading's context (LoadOptions.Context), or nil
	varOnce    sync.Once
	varObj     cty.Value // var, built once (varObject)
	staticOnce sync.Once
	static     *globalValues // globals that reach no stage, evaluated once (staticGlobals)
}

// An Instance is one stage instance: a stage block, or one key of a stage
// block's for_each.
type Instance struct {
	// Addr is the instance's address: stage.<kind>.<name> or
	// stage.<kind>.<name>["<key>"].
	Addr string
	// Kind is the stage kind.
	Kind *Kind
	// Name is the stage block's second label.
	Name string
	// Key is the for_each key; HasKey says whether there is one.
	Key    string
	HasKey bool
	// GPUs is the number of devices the stage asks for.
	GPUs int
	// Executor is the executor the stage block names (TYPE.NAME, or
	// "local"); empty when it names none and the build's default applies.
	Executor string
	// Deps are the instances this one refers to, sorted by address.
	Deps []*Instance
	// Dependents are the instances that refer to this one, sorted by address.
	Dependents []*Instance
	// DeclRange is the stage block's header, for diagnostics.
	DeclRange hcl.Range

	block *stageBlock
	each  cty.Value // object {key, value}, or NilVal
	stage Stage     // decoded at load time, with placeholder upstream folders
}

// Lookup returns the instance at addr.
func (p *Pipeline) Lookup(addr string) (*Instance, bool) {
	in, ok := p.byAddr[addr]
	return in, ok
}

// stageBlock is one `stage "<kind>" "<name>"` block.
type stageBlock struct {
	kind          *Kind
	name          string
	block         *hcl.Block
	remain        hcl.Body
	attrs         map[string]*hclsyntax.Attribute // the kind's attributes
	forEach       hcl.Expression
	dependsOn     []ref
	gpus          hcl.Expression
	executor      string    // TYPE.NAME or "local"; empty for the build's default
	executorRange hcl.Range // the executor argument's expression
	refs          []ref     // every reference in the kind's attributes, gpus and depends_on
	instances     []*Instance
	index         int  // position in the file
	bad           bool // its references have errors; already reported
}

func (b *stageBlock) id() string { return b.kind.Name + "." + b.name }

// global is a locals entry, a model block or a dataset block: a named value
// that stage expressions may refer to.
type global struct {
	addr    string                    // local.x, model.x or dataset.x
	expr    hcl.Expression            // locals
	attrs   map[string]hcl.Expression // model and dataset blocks
	rng     hcl.Range
	refs    []ref
	evals   atomic.Int64 // times evaluated, for tests
	block   *hcl.Block   // model and dataset blocks
	typ     *BlockType   // the block's type, or nil
	bad     bool         // its attributes or its decoding failed; already reported
	secrets []string     // environment variables its value needs (BlockType.Secrets)

	decodeBlock *hcl.Block // block without its unsupported attributes, for typ.Decode
	decoded     any        // typ.Decode's value, at load (placeholder folders)
}

// instanceAddr returns the address of a stage instance.
func instanceAddr(kind, name string, key string, hasKey bool) string {
	a := "stage." + kind + "." + name
	if hasKey {
		a += "[" + strconv.Quote(key) + "]"
	}
	return a
}

func sortInstances(s []*Instance) {
	sort.Slice(s, func(i, j int) bool { return s[i].Addr < s[j].Addr })
}
