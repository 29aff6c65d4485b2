package stages

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/internal/errorfile"
)

// TestLoadErrorFiles loads every file in testdata/error-files with the real
// stage kinds and model blocks, and compares the diagnostics with the
// "# ERROR: <Summary>" comments on the bad lines.
func TestLoadErrorFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/error-files/*.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no error files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			p, diags := engine.Load(file, engine.LoadOptions{Lookup: Lookup, Kinds: Names, Blocks: Blocks()})
			errorfile.Check(t, file, diags)
			// A pasted key is never printed: not in a message, not in the
			// source line shown with it.
			var out strings.Builder
			w := hclDiagWriter(&out, p)
			w.WriteDiagnostics(diags)
			if strings.Contains(out.String(), "sk-live") {
				t.Errorf("the printed diagnostics show the API key:\n%s", out.String())
			}
		})
	}
}

func hclDiagWriter(w *strings.Builder, p *engine.Pipeline) hcl.DiagnosticWriter {
	return hcl.NewDiagnosticTextWriter(w, p.Files, 0, false)
}

// TestModelBlockDecodedOnce checks that a model block is decoded once, at
// load, and that stages referring to it, directly, through a local or
// through each.value, get that value: a block whose path is a stage output
// (an object with out) is a checkpoint folder, which reading the block's
// object again as a model reference would reject.
func TestModelBlockDecodedOnce(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "prompts.jsonl"), []byte(`{"prompt": "hi"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "p.hcl")
	src := `
model "judge" {
  endpoint = "http://127.0.0.1:8000/v1"
  name     = "m"
}
model "tuned" {
  path = stage.exec.prep
}
locals {
  m = model.tuned
}
stage "exec" "prep" {
  command = ["true"]
}
stage "sample" "direct" {
  for_each = toset(["1", "2", "3"])
  model    = model.judge
  prompts  = "prompts.jsonl"
}
stage "sample" "local" {
  model   = local.m
  prompts = "prompts.jsonl"
}
stage "sample" "each" {
  for_each = { a = model.judge, b = model.judge }
  model    = each.value
  prompts  = "prompts.jsonl"
}
`
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	var mu sync.Mutex // Load decodes stages, and the blocks they reach, concurrently.
	counting := *ModelBlock
	counting.Decode = func(blk *hcl.Block, ectx *hcl.EvalContext) (any, hcl.Diagnostics) {
		mu.Lock()
		calls[blk.Labels[0]]++
		mu.Unlock()
		return decodeModelBlock(blk, ectx)
	}
	p, diags := engine.Load(file, engine.LoadOptions{Lookup: Lookup, Kinds: Names, Blocks: map[string]*engine.BlockType{"model": &counting}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if calls["judge"] != 1 {
		t.Errorf("model.judge decoded %d times, want once", calls["judge"])
	}
	v, ok := p.Block("model.judge")
	if r, isRef := v.(ModelRef); !ok || !isRef || r.Endpoint == nil || r.Endpoint.Name != "m" {
		t.Errorf("Block(model.judge) = %#v, %v; want the endpoint model m", v, ok)
	}
}
