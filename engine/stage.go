package engine

import (
	"context"
	"io"

	"github.com/hashicorp/hcl/v2"
)

// A Kind is a stage kind ("exec", "sample", "dpo", …). Kinds are registered
// with stages.Register and handed to the engine by the caller of Load, so the
// engine never imports a kind.
type Kind struct {
	// Name is the kind's name, the first label of a stage block.
	Name string
	// Version is the kind's implementation version. It enters every ActionID
	// of the kind: bump it whenever the same inputs would give other outputs.
	Version string
	// Schema lists the kind's own attributes: everything in a stage block
	// besides the engine's shared arguments (for_each, gpus, depends_on).
	// Kinds use attributes only, no nested blocks.
	Schema *hcl.BodySchema
	// Decode builds a Stage from the kind's attributes evaluated in ectx.
	// At load time every upstream output folder is a placeholder string, so
	// that types and required attributes are checked before anything runs; at
	// run time the values are real. Decode must not touch the file system.
	Decode func(body hcl.Body, ectx *hcl.EvalContext) (Stage, hcl.Diagnostics)
	// NonDeterministic marks kinds whose output may legitimately change
	// between two runs of the same action (sampling, GPU numerics);
	// REFEVAL_DEBUG=cacheverify=1 skips them, as cmd/go's PutNoVerify does.
	NonDeterministic bool
	// CheckInputs, when set, checks a decoded stage's input files at load
	// time, after the engine has checked that they exist: cheap checks (an
	// empty prompts file, fewer references than prompts, a judge template
	// in the wrong layout) that would otherwise fail only after the upstream
	// stages ran. It is the one load-time check of input contents. body
	// and ectx are as for Decode; paths inside upstream outputs are
	// placeholders (IsPending) and must be skipped; dir is the pipeline
	// file's folder. Diagnostics should point at the attribute.
	CheckInputs func(body hcl.Body, ectx *hcl.EvalContext, dir string) hcl.Diagnostics
	// Env names the environment variables whose values change this kind's
	// outputs (the compute backend of the kinds that run models); their
	// values enter its ActionIDs. GPUEnv adds names for its stages that are
	// granted GPUs (gpus > 0): what selects the device software. The engine
	// knows no variable by name; the kinds' package declares them.
	Env, GPUEnv []string
}

// A Stage is one decoded stage instance, ready to run.
type Stage interface {
	// Inputs returns the files and folders whose content enters the
	// ActionID. Relative paths are relative to the pipeline file's folder.
	Inputs() []string
	// Run computes the stage's outputs into rc.Out. It must return when ctx
	// is cancelled. Whatever it leaves in rc.Out becomes the output only if
	// it returns nil.
	Run(ctx context.Context, rc *RunContext) error
}

// RunContext is what a running stage receives from the engine.
type RunContext struct {
	// Addr is the stage's address, such as stage.exec.hello or stage.dpo.beta["0.1"].
	Addr string
	// Dir is the pipeline file's folder; relative paths resolve against it.
	Dir string
	// Out is a fresh, empty folder. Everything written here is the output.
	Out string
	// Log receives the stage's log. It is kept under the cache folder and
	// its tail is printed when the stage fails.
	Log io.Writer
	// Devices holds the accelerator ids granted to the stage (gpus = N);
	// empty for CPU stages.
	Devices []int
	// Memo stores per-item results that survive an interrupted run.
	Memo Memo
	// Digest returns the content digest of a file or folder through the
	// cache's stat cache (cheap for unchanged files).
	Digest func(path string) (string, error)
	// Progress reports how many of total units are done; the console shows
	// a live bar for stages that call it.
	Progress func(done, total int64)
	// ReadOnly lists folders the stage must not change: the cache's folder
	// of committed outputs, upstream ones included. A kind that starts
	// processes shows them these folders read-only where the system allows
	// (stages/exec.go); for every kind, the engine checks after the stage
	// that its upstream outputs are unchanged. Empty with
	// REFEVAL_DEBUG=nosandbox=1.
	ReadOnly []string
	// Warn prints a warning about the stage on the console (the stage also
	// writes it to its log). It may be nil.
	Warn func(msg string)
	// HiddenEnv names environment variables that processes the stage
	// starts must not inherit: API-key variables of model blocks the stage
	// does not refer to (Pipeline.HiddenEnv).
	HiddenEnv []string
}

// A Memo stores per-item results of long stages under keys the stage
// computes (model digest, settings and item input, hashed). Entries are
// durable once Put returns.
type Memo interface {
	Get(key string) (val []byte, ok bool, err error)
	Put(key string, val []byte) error
}
