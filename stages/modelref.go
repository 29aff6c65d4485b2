package stages

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/llm"
	"github.com/refeval/refeval/llm/openai"
)

// A ModelRef is what a model attribute (model, policy, judge, baseline, …)
// names: a local checkpoint folder, an OpenAI-compatible endpoint, or, for
// judges, the model-free "rouge-l" judge. The attribute accepts
//
//	"models/qwen"                      a folder path (relative to the pipeline file)
//	model.qwen                         a model block with path = "…"
//	stage.sft.distill                  a stage output holding a checkpoint ({out = …})
//	model.judge                        a model block with endpoint = "…", name = "…"
//	"rouge-l"                          judges only
type ModelRef struct {
	Path     string         // local checkpoint folder; "" otherwise
	Endpoint *openai.Config // remote model; nil otherwise
	Rouge    bool           // the rouge-l judge
}

// IsLocal says whether the reference names a checkpoint folder.
func (r ModelRef) IsLocal() bool { return r.Path != "" }

// String describes the reference for logs.
func (r ModelRef) String() string {
	switch {
	case r.Rouge:
		return RougeJudgeName
	case r.Endpoint != nil:
		return fmt.Sprintf("endpoint model %q", r.Endpoint.Name)
	default:
		return r.Path
	}
}

// Inputs returns the folder of a local model, whose content enters the
// ActionID; nothing for the others.
func (r ModelRef) Inputs() []string {
	if r.Path != "" {
		return []string{r.Path}
	}
	return nil
}

// modelAttributes are the attributes of a model block: path for a local
// checkpoint, or endpoint and the client's settings (openai.ConfigSchema).
var modelAttributes = []string{"path", "endpoint", "name", "api_key_env", "max_concurrency", "timeout", "max_retries"}

// ModelBlock is the model block type: its one schema (modelAttributes)
// and its one decoder, run once at load, whose value, a ModelRef, is what
// a stage attribute that refers to the block gets (engine.BlockValue).
var ModelBlock = &engine.BlockType{Attributes: modelAttributes, Decode: decodeModelBlock, Secrets: modelSecrets}

// DatasetBlock is the dataset block type: a bag of attributes that
// expressions read as dataset.NAME.ATTR, with nothing to decode.
var DatasetBlock = &engine.BlockType{}

// Blocks returns the top-level block types the stages define, for
// engine.LoadOptions.Blocks.
func Blocks() map[string]*engine.BlockType {
	return map[string]*engine.BlockType{"model": ModelBlock, "dataset": DatasetBlock}
}

// decodeModelBlock reads one model block into a ModelRef
// (ModelBlock.Decode): either path or endpoint, endpoint settings only
// with an endpoint, a path that is a non-empty string or a stage output,
// the endpoint settings through decodeEndpoint; each error points into the
// block.
func decodeModelBlock(blk *hcl.Block, ectx *hcl.EvalContext) (any, hcl.Diagnostics) {
	attrs, diags := blk.Body.JustAttributes()
	errorf := func(rng hcl.Range, summary, format string, args ...any) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: rng.Ptr()})
	}
	path, endpoint := attrs["path"], attrs["endpoint"]
	switch {
	case path != nil && endpoint != nil:
		errorf(endpoint.NameRange, "Conflicting Model Source",
			"model %q sets both path (a local checkpoint, line %d) and endpoint (a server). Keep the one you mean and remove the other.", blk.Labels[0], path.NameRange.Start.Line)
		return nil, diags
	case path == nil && endpoint == nil:
		errorf(blk.DefRange, "Missing Model Source",
			"model %q needs path (a local checkpoint folder) or endpoint and name (an OpenAI-compatible server).", blk.Labels[0])
		return nil, diags
	case path != nil:
		for _, n := range slices.Sorted(maps.Keys(attrs)) {
			if n != "path" && slices.Contains(modelAttributes, n) {
				errorf(attrs[n].NameRange, "Endpoint Setting Without Endpoint",
					"%s applies to endpoint models; model %q is a local checkpoint (path). Remove %s.", n, blk.Labels[0], n)
			}
		}
		v, d := path.Expr.Value(ectx)
		diags = append(diags, d...)
		if d.HasErrors() || !v.IsWhollyKnown() {
			return nil, diags
		}
		if out, ok := field(v, "out"); ok {
			v = out
		}
		sv, err := convert.Convert(v, cty.String)
		if err != nil || sv.IsNull() || sv.AsString() == "" {
			errorf(path.Expr.Range(), "Invalid path", "path is a checkpoint folder: a non-empty string, or a stage output such as stage.sft.NAME.")
			return nil, diags
		}
		return ModelRef{Path: sv.AsString()}, diags
	}
	cfg, errs := decodeEndpoint(func(name string) (cty.Value, bool) {
		a := attrs[name]
		if a == nil {
			return cty.NilVal, false
		}
		v, d := a.Expr.Value(ectx)
		diags = append(diags, d...)
		if d.HasErrors() {
			return cty.DynamicVal, true // reported
		}
		return v, true
	})
	for _, e := range errs {
		d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: e.Summary, Detail: e.Detail, Subject: blk.DefRange.Ptr()}
		if a := attrs[e.Field]; a != nil {
			d.Subject = a.Expr.Range().Ptr()
		}
		if e.Field == "api_key_env" {
			d.Extra = engine.SecretValue{} // a pasted key: never print it
		}
		diags = append(diags, d)
	}
	return ModelRef{Endpoint: &cfg}, diags
}

// modelSecrets returns the API-key variable of an endpoint model block.
func modelSecrets(v any) []string {
	r, ok := v.(ModelRef)
	if !ok || r.Endpoint == nil || r.Endpoint.APIKeyEnv == "" {
		return nil
	}
	return []string{r.Endpoint.APIKeyEnv}
}

const modelRefWhat = `a model folder path, a model block (model.NAME with path or endpoint) or a stage output holding a checkpoint (stage.sft.NAME)`

// localModel reads a model reference that must name a local checkpoint;
// why says why an endpoint will not do.
func (a *attrs) localModel(name string, dst *ModelRef, why string) {
	a.model(name, dst, false)
	if dst.Endpoint != nil {
		a.errorf(a.content.Attributes[name], "Invalid "+name, "%s", why)
	}
}

// model reads a model reference. judge allows the string "rouge-l".
func (a *attrs) model(name string, dst *ModelRef, judge bool) {
	v, attr, ok := a.value(name)
	if !ok {
		return
	}
	what := modelRefWhat
	if judge {
		what += `, or "rouge-l"`
	}
	bad := func(format string, args ...any) {
		a.errorf(attr, "Invalid "+name, "The %s argument must be %s; %s.", name, what, fmt.Sprintf(format, args...))
	}
	if v.IsNull() {
		bad("it is null")
		return
	}
	if v.Type() == cty.String {
		s := v.AsString()
		switch {
		case s == "":
			bad("it is empty")
		case s == RougeJudgeName && judge:
			*dst = ModelRef{Rouge: true}
		case s == RougeJudgeName:
			bad("%q judges, it cannot generate", s)
		case judge && strings.HasPrefix(strings.ToLower(s), "rouge"):
			bad("there is no judge %q; the model-free judge is %q", s, RougeJudgeName)
		default:
			*dst = ModelRef{Path: s}
		}
		return
	}
	if b, ok := engine.BlockValue(a.ectx, v); ok {
		if r, ok := b.(ModelRef); ok {
			*dst = r // a model block, decoded once at load (decodeModelBlock)
			return
		}
	}
	if _, ok := field(v, "endpoint"); ok {
		// An object written in place: decoded here, with the same decoder.
		cfg, err := endpointConfig(v)
		if err != nil {
			// The value is a model block, so the list of what a model may
			// be would not help: say which setting is wrong.
			a.errorf(attr, "Invalid "+name, "In the %s argument's endpoint settings, %v.", name, err)
			return
		}
		*dst = ModelRef{Endpoint: &cfg}
		return
	}
	for _, key := range []string{"path", "out"} {
		if p, ok := field(v, key); ok {
			s, err := convert.Convert(p, cty.String)
			if err != nil || s.IsNull() || s.AsString() == "" {
				bad("its %s must be a non-empty string", key)
				return
			}
			*dst = ModelRef{Path: s.AsString()}
			return
		}
	}
	bad("this %s has neither path, out nor endpoint", v.Type().FriendlyName())
}

// endpointConfig turns an object holding endpoint, written in place in a
// stage attribute, into the client's configuration; the error is the first
// problem decodeEndpoint finds. A model block is decoded at load instead
// (decodeModelBlock), and reports all of them.
func endpointConfig(v cty.Value) (openai.Config, error) {
	cfg, errs := decodeEndpoint(func(name string) (cty.Value, bool) { return field(v, name) })
	if len(errs) > 0 {
		return cfg, errors.New(strings.TrimSuffix(errs[0].Detail, "."))
	}
	return cfg, nil
}

// endpointKinds describes each endpoint attribute's type for errors.
var endpointKinds = map[string]string{
	"endpoint":        `a string such as "http://vllm-host:8000/v1"`,
	"name":            "a string",
	"api_key_env":     `the name of an environment variable, such as "OPENAI_API_KEY"`,
	"max_concurrency": "a whole number",
	"timeout":         `a duration string such as "90s"`,
	"max_retries":     "a whole number",
}

// decodeEndpoint is the one decoder of a model block's endpoint settings:
// get returns an attribute's value, false when absent; an unknown value (not
// known before the run, or already reported) is skipped.
// It converts the types and reads what only the block can say (an explicit
// 0, a duration string); openai.Config.Validate checks the rest. An absent
// setting keeps Config's 0 (the client's default); max_retries = 0 means
// none, which Config spells as a negative number.
func decodeEndpoint(get func(name string) (cty.Value, bool)) (openai.Config, []*openai.ConfigError) {
	var cfg openai.Config
	var errs []*openai.ConfigError
	// absent, unknown or ill-typed: Validate's word on them is moot. A null
	// is an empty setting, which Validate judges (name = null is no name).
	unset := map[string]bool{}
	bad := func(name, summary, detail string) {
		errs = append(errs, &openai.ConfigError{Field: name, Summary: summary, Detail: detail})
	}
	value := func(name string, ty cty.Type) (cty.Value, bool) {
		v, ok := get(name)
		if ok && v.IsNull() {
			return cty.NilVal, false
		}
		if !ok || !v.IsWhollyKnown() {
			unset[name] = true
			return cty.NilVal, false
		}
		c, err := convert.Convert(v, ty)
		got := v.Type().FriendlyName()
		if err == nil && ty == cty.Number {
			if _, acc := c.AsBigFloat().Int64(); acc != big.Exact {
				err, got = fmt.Errorf("a whole number is required"), c.AsBigFloat().Text('g', -1)
			}
		}
		if err != nil {
			unset[name] = true
			bad(name, "Unsuitable value type", fmt.Sprintf("%s must be %s; it is %s.", name, endpointKinds[name], got))
			return cty.NilVal, false
		}
		return c, true
	}
	str := func(name string, dst *string) bool {
		v, ok := value(name, cty.String)
		if ok {
			*dst = v.AsString()
		}
		return ok
	}
	num := func(name string, dst *int) bool {
		v, ok := value(name, cty.Number)
		if ok {
			i, _ := v.AsBigFloat().Int64()
			*dst = int(i)
		}
		return ok
	}
	str("endpoint", &cfg.Endpoint)
	str("name", &cfg.Name)
	str("api_key_env", &cfg.APIKeyEnv)
	if num("max_concurrency", &cfg.MaxConcurrency) && cfg.MaxConcurrency < 1 {
		bad("max_concurrency", "Invalid max_concurrency", "max_concurrency is the number of requests in flight at most; it must be at least 1.")
		cfg.MaxConcurrency = 0
	}
	var timeout string
	if str("timeout", &timeout) {
		d, err := time.ParseDuration(timeout)
		switch {
		case err != nil:
			bad("timeout", "Invalid timeout", fmt.Sprintf("timeout %q is not a duration such as \"90s\" or \"10m\".", timeout))
		case d <= 0:
			bad("timeout", "Invalid timeout", "timeout limits one request; it must be positive.")
		default:
			cfg.Timeout = d
		}
	}
	if num("max_retries", &cfg.MaxRetries) {
		switch {
		case cfg.MaxRetries < 0:
			bad("max_retries", "Invalid max_retries", "max_retries counts retries after the first attempt; it must be 0 or more.")
			cfg.MaxRetries = 0
		case cfg.MaxRetries == 0:
			cfg.MaxRetries = -1
		}
	}
	if _, ok := get("name"); !ok {
		bad("", "Missing required argument", "The argument \"name\" is required: an endpoint model needs a non-empty endpoint and name (the model the server serves, as its /v1/models lists it).")
	}
	if es, ok := cfg.Validate().(openai.ConfigErrors); ok {
		for _, e := range es {
			if !unset[e.Field] {
				errs = append(errs, e)
			}
		}
	}
	return cfg, errs
}

// resolve makes a path relative to the pipeline's folder absolute.
func resolve(dir, path string) string {
	if path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(dir, path)
}

// modelID returns a string that changes whenever the model's answers may:
// the folder's content digest and the backend's numerics class for local
// models, the model name for endpoints.
func modelID(rc *engine.RunContext, r ModelRef, m *llm.Model) (string, error) {
	switch {
	case r.Rouge:
		return RougeJudgeName, nil
	case r.Endpoint != nil:
		return "openai " + r.Endpoint.Name, nil
	}
	d, err := digestPath(rc, resolve(rc.Dir, r.Path))
	if err != nil {
		return "", err
	}
	cls := ""
	if m != nil {
		cls = m.Backend()
	}
	return "local " + d + " " + cls, nil
}

// digestPath is rc.Digest, or (in tests without a cache) a SHA-256 over the
// names and contents of the files under path.
func digestPath(rc *engine.RunContext, path string) (string, error) {
	if rc.Digest != nil {
		return rc.Digest(path)
	}
	h := sha256.New()
	var files []string
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("digesting %s: %w", path, err)
	}
	sort.Strings(files)
	for _, f := range files {
		rel, _ := filepath.Rel(path, f)
		fmt.Fprintf(h, "%s\x00", rel)
		in, err := os.Open(f)
		if err != nil {
			return "", err
		}
		_, err = io.Copy(h, in)
		in.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// newClient makes an OpenAI-compatible client whose answers go through the
// stage's memo and whose retries go to its log.
func newClient(rc *engine.RunContext, r ModelRef) (*openai.Client, error) {
	var opts []openai.Option
	if rc.Memo != nil {
		opts = append(opts, openai.WithMemo(rc.Memo))
	}
	if rc.Log != nil {
		opts = append(opts, openai.WithLog(rc.Log))
	}
	c, err := openai.New(*r.Endpoint, opts...)
	if err != nil {
		return nil, err
	}
	return c, nil
}
