package engine

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/refeval/refeval/cache"
)

// hashOut is what an upstream output folder reads as in the configuration
// lines of an ActionID: the OutputID, not the folder's path, so that moving
// the cache folder keeps every ActionID.
func hashOut(id cache.ID) string { return "@out:" + id.String() }

// An action is a stage instance ready to run or to be found in the cache:
// its ActionID and the pieces the ActionID was made of, kept in the cache
// entry so that plan can explain a later rerun. The Stage with real
// upstream folders is decoded only when the stage runs (stage).
type action struct {
	id       cache.ID
	config   map[string]string // attribute → canonical JSON
	inputs   map[string]string // input path → digest hex
	upstream map[string]string // upstream address → OutputID hex

	p   *Pipeline
	in  *Instance
	ups map[*Instance]upstreamOut
}

// stage decodes the instance with its upstream stages' real output folders,
// for running it.
func (a *action) stage() (Stage, error) {
	st, diags := a.p.decode(a.in, func(u *Instance) string {
		if o, ok := a.ups[u]; ok {
			return o.dir
		}
		return pendingOut(u)
	})
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s: %s", a.in.Addr, diagText(diags))
	}
	return st, nil
}

// actionFormat numbers the layout of an ActionID's lines. Cache entries
// record it, so that plan can say why a stage runs again after a change
// of layout; actionFormats says what each one changed. Format 2 changed
// only the lines of upstream stages: a stage without any keeps its
// ActionID.
const actionFormat = 2

var actionFormats = map[int]string{
	2: "upstream stages enter it by output alone, no longer by address",
}

// upstreamOut is what the engine knows about a finished upstream instance.
type upstreamOut struct {
	id  cache.ID
	dir string
}

// computeAction hashes an instance's ActionID. ups holds every dependency
// of in. debug, when non-nil, receives the hashed lines
// (REFEVAL_DEBUG=cachehash=1).
//
// The input files are those of the instance as decoded at load time, with
// placeholder upstream folders: an input below an upstream folder is a
// placeholder path, skipped here since the upstream's OutputID covers it,
// and every other input evaluates the same at load and at run time (the
// loader has checked that it exists). So a cached stage is never decoded
// again.
func (p *Pipeline) computeAction(c *cache.Cache, in *Instance, ups map[*Instance]upstreamOut, debug io.Writer) (*action, error) {
	st := in.stage
	if st == nil {
		var diags hcl.Diagnostics
		if st, diags = p.decode(in, pendingOut); diags.HasErrors() {
			return nil, fmt.Errorf("%s: %s", in.Addr, diagText(diags))
		}
	}
	a := &action{inputs: map[string]string{}, upstream: map[string]string{}, p: p, in: in, ups: ups}

	// The address stays out of the ActionID: two instances with the same
	// kind, configuration and inputs are the same action, run once.
	if debug != nil {
		debug = addrWriter{debug, in.Addr}
	}
	h := cache.NewHash("stage", debug)
	h.Line("kind %s %s", in.Kind.Name, in.Kind.Version)

	// Canonical configuration: every attribute of the kind, evaluated with
	// upstream folders named by OutputID, as JSON (object keys sorted).
	config, err := p.canonicalConfig(in, ups)
	if err != nil {
		return nil, err
	}
	a.config = config
	for _, name := range sortedKeys(config) {
		h.Line("config %s %s", name, config[name])
	}
	if in.GPUs > 0 {
		h.Line("gpus %d", in.GPUs)
	}
	env := slices.Clone(in.Kind.Env)
	if in.GPUs > 0 {
		env = append(env, in.Kind.GPUEnv...)
	}
	slices.Sort(env)
	for _, name := range slices.Compact(env) {
		h.Line("env %s=%s", name, os.Getenv(name))
	}

	// Input files through the stat cache. Inputs inside an upstream output
	// folder are covered by that upstream's OutputID.
	var upDirs []string
	for _, o := range ups {
		upDirs = append(upDirs, o.dir+string(filepath.Separator))
	}
	inputs := append([]string(nil), st.Inputs()...)
	sort.Strings(inputs)
	for _, path := range inputs {
		if isPending(path) || inside(path, upDirs) {
			continue
		}
		full := path
		if !filepath.IsAbs(full) {
			full = filepath.Join(p.Dir, full)
		}
		if inside(full+string(filepath.Separator), upDirs) {
			continue
		}
		d, err := c.DigestPath(full)
		if err != nil {
			return nil, fmt.Errorf("%s: input %s: %w", in.Addr, path, err)
		}
		a.inputs[path] = d.String()
		h.Line("input %s %s", path, d)
	}

	// Upstream OutputIDs (also present in the configuration lines when the
	// stage refers to their folders; listed for depends_on and clarity),
	// by output alone: an upstream renamed, or built under another
	// for_each key, with the same output is the same input. The addresses
	// are kept in the entry, for plan's explanations.
	ids := make([]string, 0, len(in.Deps))
	for _, u := range in.Deps {
		o, ok := ups[u]
		if !ok {
			return nil, fmt.Errorf("%s: upstream %s has no output", in.Addr, u.Addr)
		}
		a.upstream[u.Addr] = o.id.String()
		ids = append(ids, o.id.String())
	}
	sort.Strings(ids)
	for _, id := range ids {
		h.Line("upstream %s", id)
	}
	a.id = h.Sum()
	return a, nil
}

// canonicalConfig evaluates every attribute of in, with the folders of
// the upstreams in ups named by OutputID (others by placeholder), to its
// canonical JSON: the configuration the ActionID hashes and RunStage
// checks again on the executor's machine.
func (p *Pipeline) canonicalConfig(in *Instance, ups map[*Instance]upstreamOut) (map[string]string, error) {
	hashed := func(u *Instance) string {
		if o, ok := ups[u]; ok {
			return hashOut(o.id)
		}
		return pendingOut(u)
	}
	ctx, diags := p.evalContext(hashed, in)
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s: %s", in.Addr, diagText(diags))
	}
	config := make(map[string]string, len(in.block.attrs))
	for _, name := range sortedKeys(in.block.attrs) {
		js, err := attrJSON(in, name, ctx)
		if err != nil {
			return nil, err
		}
		config[name] = string(js)
	}
	return config, nil
}

// attrJSON returns an attribute's canonical value, as it enters the ActionID.
func attrJSON(in *Instance, name string, ctx *hcl.EvalContext) ([]byte, error) {
	v, diags := in.block.attrs[name].Expr.Value(ctx)
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s: %s", in.Addr, diagText(diags))
	}
	js, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, fmt.Errorf("%s: attribute %s: %w", in.Addr, name, err)
	}
	return redactConfig(unescapeHTML(js)), nil
}

// inside says whether path is one of dirs (each ending in a separator) or
// lies below one.
func inside(path string, dirs []string) bool {
	for _, d := range dirs {
		if strings.HasPrefix(path, d) || len(path)+1 == len(d) && strings.HasPrefix(d, path) {
			return true
		}
	}
	return false
}

// diagText renders diagnostics without source snippets, for run-time errors.
func diagText(diags hcl.Diagnostics) string {
	var parts []string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		s := d.Summary
		if d.Detail != "" {
			s += ": " + d.Detail
		}
		if d.Subject != nil {
			s = d.Subject.String() + ": " + s
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// addrWriter prefixes each debug line with a stage address.
type addrWriter struct {
	w    io.Writer
	addr string
}

func (a addrWriter) Write(b []byte) (int, error) {
	if _, err := fmt.Fprintf(a.w, "%s: %s", a.addr, b); err != nil {
		return 0, err
	}
	return len(b), nil
}

// unescapeHTML undoes encoding/json's escaping of <, > and &, which only
// makes configuration lines harder to read.
func unescapeHTML(js []byte) []byte {
	if !bytes.Contains(js, []byte(`\u00`)) {
		return js
	}
	return []byte(htmlUnescaper.Replace(string(js)))
}

var htmlUnescaper = strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&")
