package stages

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"sort"
	"time"

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
	trackClient(rc, c)
	return c, nil
}
