package slurm

import (
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"

	"github.com/refeval/refeval/engine"
)

// Config is an `executor "slurm" "NAME"` block. Nothing in it enters an
// ActionID: it says where and how a stage runs, not what it computes.
type Config struct {
	Partition string   // partition: sbatch --partition
	Account   string   // account: sbatch --account
	Time      string   // time: sbatch --time, such as "04:00:00"
	CPUs      int      // cpus: sbatch --cpus-per-task
	Mem       string   // mem: sbatch --mem, such as "64G"
	Extra     []string // extra: more sbatch flags, passed through
	MaxJobs   int      // max_jobs: jobs in flight at once (default 16)
	Retries   int      // retries: resubmissions after preemption or node failure
	Refeval   string   // refeval: the refeval binary on the nodes (default: this one)
	Poll      string   // poll: how often squeue is asked, such as "5s" (default 2s)
	GPUFlag   string   // gpu_flag: "gpus" (--gpus=N, default) or "gres" (--gres=gpu:N)

	poll time.Duration
}

// attrs are the block's attributes, all optional: each one's name, type
// and Config field. (A table rather than gohcl's struct tags: gohcl links
// hclwrite and go-cmp into refeval, whose package initialization every
// process start, such as a plan's, paid for.)
var attrs = []struct {
	name  string
	ty    cty.Type
	field func(c *Config) any
}{
	{"partition", cty.String, func(c *Config) any { return &c.Partition }},
	{"account", cty.String, func(c *Config) any { return &c.Account }},
	{"time", cty.String, func(c *Config) any { return &c.Time }},
	{"cpus", cty.Number, func(c *Config) any { return &c.CPUs }},
	{"mem", cty.String, func(c *Config) any { return &c.Mem }},
	{"extra", cty.List(cty.String), func(c *Config) any { return &c.Extra }},
	{"max_jobs", cty.Number, func(c *Config) any { return &c.MaxJobs }},
	{"retries", cty.Number, func(c *Config) any { return &c.Retries }},
	{"refeval", cty.String, func(c *Config) any { return &c.Refeval }},
	{"poll", cty.String, func(c *Config) any { return &c.Poll }},
	{"gpu_flag", cty.String, func(c *Config) any { return &c.GPUFlag }},
}

// DefaultMaxJobs is max_jobs when the block does not set it.
const DefaultMaxJobs = 16

// defaultPoll is how often squeue is asked when the block does not say:
// one squeue call per build every 2 seconds is light on slurmctld (sites
// ask for no more than a few calls a second per user).
const defaultPoll = 2 * time.Second

var (
	timeRE = regexp.MustCompile(`^(\d+-)?\d+(:\d+){0,2}$|^\d+-\d+$`)
	memRE  = regexp.MustCompile(`^\d+[KMGT]?$`)
)

// Block is the executor "slurm" block type, registered as
// engine.LoadOptions.Blocks["executor.slurm"] (cmd/refeval does): its
// schema is Config's attributes, and Load decodes each block once, so that
// every problem with its settings is reported at load, at its line.
var Block = &engine.BlockType{Attributes: attributeNames(), Decode: decodeBlock}

func decodeBlock(blk *hcl.Block, ectx *hcl.EvalContext) (any, hcl.Diagnostics) {
	return Decode(blk.Body, ectx)
}

// attributeNames lists the block's attributes, sorted.
func attributeNames() []string {
	names := make([]string, len(attrs))
	for i, a := range attrs {
		names[i] = a.name
	}
	slices.Sort(names)
	return names
}

// Decode reads the body of an executor "slurm" block.
func Decode(body hcl.Body, ctx *hcl.EvalContext) (*Config, hcl.Diagnostics) {
	var c Config
	schema := &hcl.BodySchema{}
	for _, a := range attrs {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: a.name})
	}
	content, diags := body.Content(schema)
	for _, a := range attrs {
		attr, ok := content.Attributes[a.name]
		if !ok {
			continue
		}
		v, d := attr.Expr.Value(ctx)
		if diags = append(diags, d...); d.HasErrors() {
			continue
		}
		if v.IsNull() {
			continue // As in Terraform (and gohcl), null is unset.
		}
		if v, err := convert.Convert(v, a.ty); err == nil && v.IsWhollyKnown() {
			if err = gocty.FromCtyValue(v, a.field(&c)); err == nil {
				continue
			}
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Incorrect attribute value type",
			Detail: fmt.Sprintf("%s must be %s.", a.name, typeText(a.ty)), Subject: attr.Expr.Range().Ptr()})
	}
	if diags.HasErrors() {
		return nil, diags
	}
	bad := func(attr, detail string) {
		rng := body.MissingItemRange()
		if attrs, d := body.JustAttributes(); !d.HasErrors() {
			if a, ok := attrs[attr]; ok {
				rng = a.Expr.Range()
			}
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid Slurm Executor", Detail: detail, Subject: rng.Ptr()})
	}
	if c.Time != "" && !timeRE.MatchString(c.Time) {
		bad("time", fmt.Sprintf("time %q is not a Slurm time limit; write minutes, \"HH:MM:SS\" or \"D-HH:MM:SS\".", c.Time))
	}
	if c.Mem != "" && !memRE.MatchString(c.Mem) {
		bad("mem", fmt.Sprintf("mem %q is not a Slurm memory size; write a number with an optional K, M, G or T suffix, as in \"64G\".", c.Mem))
	}
	if c.CPUs < 0 {
		bad("cpus", "cpus is a number of CPUs per job, 1 or more.")
	}
	switch {
	case c.MaxJobs < 0:
		bad("max_jobs", "max_jobs is how many jobs may be queued or running at once, 1 or more.")
	case c.MaxJobs == 0:
		c.MaxJobs = DefaultMaxJobs
	}
	if c.Retries < 0 {
		bad("retries", "retries is how many times a preempted or lost job is sent again, 0 or more.")
	}
	c.poll = defaultPoll
	if c.Poll != "" {
		d, err := time.ParseDuration(c.Poll)
		if err != nil || d < 100*time.Millisecond {
			bad("poll", fmt.Sprintf("poll %q is not a duration of at least 100ms, such as \"5s\".", c.Poll))
		}
		c.poll = d
	}
	switch c.GPUFlag {
	case "":
		c.GPUFlag = "gpus"
	case "gpus", "gres":
	default:
		bad("gpu_flag", fmt.Sprintf("gpu_flag %q is neither \"gpus\" (sbatch --gpus=N) nor \"gres\" (sbatch --gres=gpu:N).", c.GPUFlag))
	}
	return &c, diags
}

// typeText names a type for an error message.
func typeText(ty cty.Type) string {
	switch {
	case ty == cty.Number:
		return "a whole number"
	case ty.IsListType():
		return "a list of strings"
	}
	return "a string"
}
