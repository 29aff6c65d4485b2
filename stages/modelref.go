package stages

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
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

// ModelBlock checks model blocks at load time: known attributes only,
// either path or endpoint, a well-formed endpoint URL and api_key_env, each
// error pointing into the block.
var ModelBlock = &engine.BlockType{Attributes: modelAttributes, Check: checkModelBlock, Secrets: modelSecrets}

// Blocks returns the top-level block types the stages define, for
// engine.LoadOptions.Blocks.
func Blocks() map[string]*engine.BlockType {
	return map[string]*engine.BlockType{"model": ModelBlock}
}

// checkModelBlock checks one model block (ModelBlock.Check).
func checkModelBlock(blk *hcl.Block, ectx *hcl.EvalContext) hcl.Diagnostics {
	attrs, diags := blk.Body.JustAttributes()
	errorf := func(rng hcl.Range, summary, format string, args ...any) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: fmt.Sprintf(format, args...), Subject: rng.Ptr()})
	}
	path, endpoint := attrs["path"], attrs["endpoint"]
	switch {
	case path != nil && endpoint != nil:
		errorf(endpoint.NameRange, "Conflicting Model Source",
			"model %q sets both path (a local checkpoint, line %d) and endpoint (a server). Keep the one you mean and remove the other.", blk.Labels[0], path.NameRange.Start.Line)
		return diags
	case path == nil && endpoint == nil:
		errorf(blk.DefRange, "Missing Model Source",
			"model %q needs path (a local checkpoint folder) or endpoint and name (an OpenAI-compatible server).", blk.Labels[0])
		return diags
	case path != nil:
		for _, n := range sortedAttrNames(attrs) {
			if n != "path" && slices.Contains(modelAttributes, n) {
				errorf(attrs[n].NameRange, "Endpoint Setting Without Endpoint",
					"%s applies to endpoint models; model %q is a local checkpoint (path). Remove %s.", n, blk.Labels[0], n)
			}
		}
		v, d := path.Expr.Value(ectx)
		diags = append(diags, d...)
		if d.HasErrors() || !v.IsWhollyKnown() {
			return diags
		}
		if out, ok := field(v, "out"); ok {
			v = out
		}
		if sv, err := convert.Convert(v, cty.String); err != nil || sv.IsNull() || sv.AsString() == "" {
			errorf(path.Expr.Range(), "Invalid path", "path is a checkpoint folder: a non-empty string, or a stage output such as stage.sft.NAME.")
		}
		return diags
	}
	_, _, d := openai.DecodeConfig(blk.Body, ectx)
	if a := attrs["api_key_env"]; a != nil {
		for _, diag := range d {
			if diag.Subject != nil && diag.Subject.Start.Byte >= a.Expr.Range().Start.Byte && diag.Subject.End.Byte <= a.Expr.Range().End.Byte {
				diag.Extra = engine.SecretValue{} // a pasted key: never print it
			}
		}
	}
	diags = append(diags, d...)
	for _, diag := range d {
		if diag.Subject != nil && diag.Subject.Start.Byte >= endpoint.Range.Start.Byte && diag.Subject.End.Byte <= endpoint.Range.End.Byte {
			return diags // the endpoint is reported already
		}
	}
	v, _ := endpoint.Expr.Value(ectx)
	if v.Type() != cty.String || v.IsNull() || !v.IsKnown() {
		return diags
	}
	if msg := endpointProblem(v.AsString()); msg != "" {
		errorf(endpoint.Expr.Range(), "Invalid endpoint", "%s", msg)
	}
	return diags
}

// endpointProblem finds what openai's own check lets through: an empty port
// (http://127.0.0.1:/v1 dials port 80) or one that is not a number. It
// never quotes the URL, which may hold credentials.
func endpointProblem(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "The endpoint is not a valid URL; write it as http://host:port/v1."
	}
	host := u.Host
	if i := strings.LastIndexByte(host, ']'); i >= 0 {
		host = host[i+1:] // [::1]:8000
	}
	if _, port, ok := strings.Cut(host, ":"); ok {
		if port == "" {
			return "The endpoint has a colon but no port after the host; write the port (http://host:8000/v1) or drop the colon for the scheme's default."
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "The endpoint's port is not a number between 1 and 65535."
		}
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "The endpoint has a query or fragment; give the API base only, such as http://host:8000/v1, and put a key in the variable named by api_key_env."
	}
	return ""
}

// modelSecrets returns the API-key variable of an endpoint model block.
func modelSecrets(v cty.Value) []string {
	if _, ok := field(v, "endpoint"); !ok {
		return nil
	}
	k, ok := field(v, "api_key_env")
	if !ok || k.IsNull() || !k.IsKnown() || k.Type() != cty.String || k.AsString() == "" {
		return nil
	}
	return []string{k.AsString()}
}

func sortedAttrNames(attrs hcl.Attributes) []string {
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
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
	if ep, ok := field(v, "endpoint"); ok {
		cfg, err := endpointConfig(v, ep)
		if err != nil {
			bad("%v", err)
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

// endpointConfig turns an evaluated model block holding endpoint into the
// client's configuration (the same fields as openai.ConfigSchema).
func endpointConfig(v, ep cty.Value) (openai.Config, error) {
	var cfg openai.Config
	str := func(name string, dst *string) error {
		f, ok := field(v, name)
		if !ok || f.IsNull() {
			return nil
		}
		s, err := convert.Convert(f, cty.String)
		if err != nil {
			return fmt.Errorf("its %s must be a string", name)
		}
		*dst = s.AsString()
		return nil
	}
	num := func(name string, dst *int) error {
		f, ok := field(v, name)
		if !ok || f.IsNull() {
			return nil
		}
		n, err := convert.Convert(f, cty.Number)
		if err != nil {
			return fmt.Errorf("its %s must be a whole number", name)
		}
		i, acc := n.AsBigFloat().Int64()
		if acc != big.Exact {
			return fmt.Errorf("its %s must be a whole number", name)
		}
		*dst = int(i)
		return nil
	}
	if err := str("endpoint", &cfg.Endpoint); err != nil {
		return cfg, err
	}
	if err := str("name", &cfg.Name); err != nil {
		return cfg, err
	}
	if cfg.Endpoint == "" || cfg.Name == "" {
		return cfg, fmt.Errorf("an endpoint model needs a non-empty endpoint and name")
	}
	if err := str("api_key_env", &cfg.APIKeyEnv); err != nil {
		return cfg, err
	}
	if err := num("max_concurrency", &cfg.MaxConcurrency); err != nil {
		return cfg, err
	}
	if err := num("max_retries", &cfg.MaxRetries); err != nil {
		return cfg, err
	}
	// As in openai.DecodeConfig: max_retries = 0 means none, which Config
	// spells as a negative number (its 0 is the default).
	switch {
	case cfg.MaxRetries < 0:
		return cfg, fmt.Errorf("its max_retries must be 0 or more")
	case cfg.MaxRetries == 0:
		if f, ok := field(v, "max_retries"); ok && !f.IsNull() {
			cfg.MaxRetries = -1
		}
	}
	var timeout string
	if err := str("timeout", &timeout); err != nil {
		return cfg, err
	}
	if timeout != "" {
		d, err := time.ParseDuration(timeout)
		if err != nil || d <= 0 {
			return cfg, fmt.Errorf("its timeout %q is not a duration such as \"90s\"", timeout)
		}
		cfg.Timeout = d
	}
	return cfg, nil
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

// loadLocal loads a local checkpoint folder with rows rows per forward pass.
func loadLocal(rc *engine.RunContext, r ModelRef, rows int) (*llm.Model, error) {
	path := resolve(rc.Dir, r.Path)
	m, err := llm.Load(path, llm.Options{MaxBatch: rows})
	if err != nil {
		return nil, err
	}
	if m.Tokenizer() == nil || m.Template() == nil {
		m.Close()
		return nil, fmt.Errorf("model %s has no tokenizer or chat template", r.Path)
	}
	return m, nil
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
