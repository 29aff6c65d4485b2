package stages

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/llm/openai"
)

// parseModelBlocks returns the model blocks of an HCL file.
func parseModelBlocks(t *testing.T, path string) []*hcl.Block {
	t.Helper()
	f, diags := hclparse.NewParser().ParseHCLFile(path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	schema := &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "model", LabelNames: []string{"name"}}, {Type: "stage", LabelNames: []string{"kind", "name"}}}}
	content, _, diags := f.Body.PartialContent(schema)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var out []*hcl.Block
	for _, b := range content.Blocks {
		if b.Type == "model" {
			out = append(out, b)
		}
	}
	return out
}

// TestDecodeEndpoint checks the one decoder of endpoint settings, from a
// model block at load (decodeModelBlock) and from an object written in a
// stage attribute (endpointConfig): set values, the client's defaults for
// absent ones (Config's 0), max_retries = 0 as none.
func TestDecodeEndpoint(t *testing.T) {
	ectx := &hcl.EvalContext{Variables: map[string]cty.Value{
		"var": cty.ObjectVal(map[string]cty.Value{"host": cty.StringVal("10.0.0.7")}),
	}}
	want := map[string]openai.Config{
		"judge":  {Endpoint: "http://10.0.0.7:8000/v1", Name: "Qwen2.5-72B-Instruct", APIKeyEnv: "OPENAI_API_KEY", MaxConcurrency: 64, Timeout: 90 * time.Second, MaxRetries: -1},
		"hosted": {Endpoint: "https://api.example.com/v1", Name: "frontier-1"},
	}
	for _, b := range parseModelBlocks(t, "testdata/endpoint/model.hcl") {
		t.Run(b.Labels[0], func(t *testing.T) {
			v, diags := decodeModelBlock(b, ectx)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if r, ok := v.(ModelRef); !ok || r.Endpoint == nil || *r.Endpoint != want[b.Labels[0]] {
				t.Errorf("wrong decoded block\ngot:  %#v\nwant: endpoint %#v", v, want[b.Labels[0]])
			}
			attrs, _ := b.Body.JustAttributes()
			vals := map[string]cty.Value{}
			for n, a := range attrs {
				v, diags := a.Expr.Value(ectx)
				if diags.HasErrors() {
					t.Fatal(diags)
				}
				vals[n] = v
			}
			got, err := endpointConfig(cty.ObjectVal(vals))
			if err != nil {
				t.Fatal(err)
			}
			if got != want[b.Labels[0]] {
				t.Errorf("wrong config\ngot:  %#v\nwant: %#v", got, want[b.Labels[0]])
			}
			if _, err := openai.New(got, openai.WithLookupEnv(func(string) (string, bool) { return "key", true })); err != nil {
				t.Errorf("New rejects the decoded config: %v", err)
			}
		})
	}
}

// TestEndpointDiagnosticsAreSentences checks the endpoint error files'
// diagnostics: each detail a sentence, none quoting a key.
func TestEndpointDiagnosticsAreSentences(t *testing.T) {
	files, _ := filepath.Glob("testdata/error-files/endpoint-*.hcl")
	if len(files) == 0 {
		t.Fatal("no endpoint error files")
	}
	for _, path := range files {
		var all hcl.Diagnostics
		for _, b := range parseModelBlocks(t, path) {
			_, diags := decodeModelBlock(b, nil)
			all = append(all, diags...)
		}
		if !all.HasErrors() {
			t.Errorf("%s: no diagnostics", path)
		}
		for _, d := range all {
			if strings.Contains(d.Summary+d.Detail, "sk-") {
				t.Errorf("%s: diagnostic quotes a key: %s: %s", path, d.Summary, d.Detail)
			}
			if d.Detail == "" || !strings.HasSuffix(d.Detail, ".") {
				t.Errorf("%s: diagnostic detail is not a sentence: %q", path, d.Detail)
			}
			if d.Summary == "Invalid api_key_env" {
				if _, ok := d.Extra.(engine.SecretValue); !ok {
					t.Errorf("%s: the api_key_env diagnostic is not marked secret", path)
				}
			}
		}
	}
}

// TestValidateInNew checks that the client refuses what the model block's
// check refuses, the pasted key included, whoever builds the Config.
func TestValidateInNew(t *testing.T) {
	for _, cfg := range []openai.Config{
		{Endpoint: "http://h:8000/v1", Name: "m", APIKeyEnv: "sk-proj-0000"},
		{Endpoint: "http://127.0.0.1:/v1", Name: "m"},
		{Endpoint: "http://h:99999/v1", Name: "m"},
		{Endpoint: "http://h/v1", Name: "m", Timeout: -time.Second},
	} {
		if _, err := openai.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		} else if strings.Contains(err.Error(), "sk-proj") {
			t.Errorf("error quotes the key: %v", err)
		}
	}
}
