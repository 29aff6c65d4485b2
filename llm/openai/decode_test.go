package openai

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/zclconf/go-cty/cty"
)

var modelBlocks = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "model", LabelNames: []string{"name"}}}}

// parseModels returns the model blocks of an HCL file.
func parseModels(t *testing.T, path string) []*hcl.Block {
	t.Helper()
	f, diags := hclparse.NewParser().ParseHCLFile(path)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	content, diags := f.Body.Content(modelBlocks)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return content.Blocks
}

func TestDecodeConfig(t *testing.T) {
	blocks := parseModels(t, "testdata/model.hcl")
	ectx := &hcl.EvalContext{Variables: map[string]cty.Value{
		"var": cty.ObjectVal(map[string]cty.Value{"host": cty.StringVal("10.0.0.7")}),
	}}
	want := map[string]Config{
		"judge":  {Endpoint: "http://10.0.0.7:8000/v1", Name: "Qwen2.5-72B-Instruct", APIKeyEnv: "OPENAI_API_KEY", MaxConcurrency: 64, Timeout: 90 * time.Second, MaxRetries: -1},
		"hosted": {Endpoint: "https://api.example.com/v1", Name: "frontier-1", MaxConcurrency: DefaultMaxConcurrency, Timeout: DefaultTimeout, MaxRetries: DefaultMaxRetries},
	}
	wantRemain := map[string][]string{"judge": {"extra"}, "hosted": nil}
	for _, b := range blocks {
		t.Run(b.Labels[0], func(t *testing.T) {
			got, remain, diags := DecodeConfig(b.Body, ectx)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if got != want[b.Labels[0]] {
				t.Errorf("wrong config\ngot:  %#v\nwant: %#v", got, want[b.Labels[0]])
			}
			attrs, _ := remain.JustAttributes()
			var names []string
			for n := range attrs {
				names = append(names, n)
			}
			if fmt.Sprint(names) != fmt.Sprint(wantRemain[b.Labels[0]]) {
				t.Errorf("wrong remaining attributes\ngot:  %#v\nwant: %#v", names, wantRemain[b.Labels[0]])
			}
		})
	}
}

// TestDecodeConfigErrors checks every file in testdata/error-files: each
// line marked "# ERROR: <Summary>" must get that diagnostic, and no other
// line any.
func TestDecodeConfigErrors(t *testing.T) {
	files, err := filepath.Glob("testdata/error-files/*.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no error files: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want := expectedErrors(t, path)
			got := map[int]string{}
			var all hcl.Diagnostics
			for _, b := range parseModels(t, path) {
				_, _, diags := DecodeConfig(b.Body, nil)
				all = append(all, diags...)
				for _, d := range diags {
					if d.Subject == nil {
						t.Errorf("diagnostic %q has no subject", d.Summary)
						continue
					}
					got[d.Subject.Start.Line] = d.Summary
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("wrong diagnostics by line\ngot:  %v\nwant: %v\n%v", got, want, all)
			}
			for _, d := range all {
				if strings.Contains(d.Summary+d.Detail, "sk-") {
					t.Errorf("diagnostic quotes a key: %s: %s", d.Summary, d.Detail)
				}
				if d.Detail == "" || !strings.HasSuffix(d.Detail, ".") {
					t.Errorf("diagnostic detail is not a sentence: %q", d.Detail)
				}
			}
		})
	}
}

// expectedErrors maps line numbers to the summaries their "# ERROR:"
// comments name.
func expectedErrors(t *testing.T, path string) map[int]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[int]string{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		if _, summary, ok := strings.Cut(sc.Text(), "# ERROR: "); ok {
			want[line] = strings.TrimSpace(summary)
		}
	}
	return want
}
