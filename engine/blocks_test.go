package engine

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// endpointBlock is a decoded test block: its name attribute.
type endpointBlock struct{ name string }

// countingType is a model block type whose Decode counts its calls per
// block and reads name as a string.
func countingType(calls map[string]int) *BlockType {
	var mu sync.Mutex // Load decodes stages, and the blocks they reach, concurrently.
	return &BlockType{
		Attributes: []string{"name"},
		Decode: func(blk *hcl.Block, ectx *hcl.EvalContext) (any, hcl.Diagnostics) {
			mu.Lock()
			calls[blk.Labels[0]]++
			mu.Unlock()
			attrs, diags := blk.Body.JustAttributes()
			a, ok := attrs["name"]
			if !ok {
				return nil, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing name", Detail: "Set name.", Subject: blk.DefRange.Ptr()})
			}
			v, d := a.Expr.Value(ectx)
			diags = append(diags, d...)
			if d.HasErrors() || !v.IsKnown() {
				return nil, diags
			}
			return endpointBlock{v.AsString()}, diags
		},
	}
}

func writePipeline(t *testing.T, src string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "p.hcl")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestBlockDecodedOnce checks that a registered block is decoded once at
// load however many stages refer to it, and that an expression reaching it
// directly, through a local or through each.value gets that decoded value
// (BlockValue); a block that refers to a stage output is decoded with each
// context's folder; an object written in place is no block's, unless it
// equals one.
func TestBlockDecodedOnce(t *testing.T) {
	file := writePipeline(t, `
model "judge" {
  name = "big"
}
model "fresh" {
  name = "${stage.fake.prep.out}/m"
}
locals {
  j = model.judge
}
stage "fake" "prep" {
  text = "x"
}
stage "fake" "direct" {
  for_each = toset(["1", "2", "3"])
  text     = model.judge.name
}
stage "fake" "each" {
  for_each = { a = model.judge, b = model.judge }
  text     = each.value.name
}
`)
	calls := map[string]int{}
	p, diags := Load(file, LoadOptions{Lookup: fakeLookup, Blocks: map[string]*BlockType{"model": countingType(calls)}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if calls["judge"] != 1 {
		t.Errorf("model.judge decoded %d times at load, want 1", calls["judge"])
	}
	if v, ok := p.Block("model.judge"); !ok || v != (endpointBlock{"big"}) {
		t.Errorf("Block(model.judge) = %v, %v; want {big}", v, ok)
	}
	in, _ := p.Lookup(`stage.fake.each["a"]`)
	ctx, diags := p.evalContext(func(u *Instance) string { return "/cache/out/" + u.Name }, in)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	tests := []struct {
		expr string
		want any
	}{
		{"model.judge", endpointBlock{"big"}},
		{"local.j", endpointBlock{"big"}},
		{"each.value", endpointBlock{"big"}},
		{"model.fresh", endpointBlock{"/cache/out/prep/m"}},
		{`{ name = "other" }`, nil},
		{`{ name = "big" }`, endpointBlock{"big"}}, // the same attributes decode the same
		{`"big"`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			expr, diags := hclsyntax.ParseExpression([]byte(tt.expr), "e.hcl", hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			v, diags := expr.Value(ctx)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			got, ok := BlockValue(ctx, v)
			if ok != (tt.want != nil) || got != tt.want {
				t.Errorf("BlockValue(%s) = %v, %v; want %v", tt.expr, got, ok, tt.want)
			}
		})
	}
	if calls["judge"] != 1 {
		t.Errorf("model.judge decoded %d times, want 1: a stage's context re-decoded it", calls["judge"])
	}
	if _, ok := BlockValue(&hcl.EvalContext{}, cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal("big")})); ok {
		t.Error("BlockValue found a block in a context the engine did not make")
	}
}

// TestBlockErrors checks the registry's load errors: an attribute outside
// the type's schema at its line, a decoder's error in the block, an
// executor type nobody registered; the stage that uses a bad block is not
// reported again.
func TestBlockErrors(t *testing.T) {
	file := writePipeline(t, `model "typo" {
  name  = "m"
  nmae  = "m"
}
model "empty" {
}
executor "kubernetes" "k" {
}
executor "fake" "f" {
  queue = "q"
}
stage "fake" "s" {
  text = model.empty.name
}
`)
	calls := map[string]int{}
	blocks := map[string]*BlockType{"model": countingType(calls), "executor.fake": {Attributes: []string{"partition"}}}
	_, diags := Load(file, LoadOptions{Lookup: fakeLookup, Blocks: blocks})
	want := []string{
		"p.hcl:3,3-7: Unsupported Attribute; A model block has no attribute \"nmae\". Its attributes are: name.",
		"p.hcl:7,10-22: Unknown Executor Type; There is no executor type \"kubernetes\"; the types are: fake.",
		"p.hcl:10,3-8: Unsupported Attribute; An executor \"fake\" block has no attribute \"queue\". Its attributes are: partition.",
		"p.hcl:5,1-14: Missing name; Set name.",
	}
	var got []string
	for _, d := range diags {
		got = append(got, filepath.Base(d.Subject.String())+": "+d.Summary+"; "+d.Detail)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("wrong diagnostics\ngot:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestRootsFromRegistry checks that the reference roots are the registered
// one-label block types plus local: without a dataset type, dataset blocks
// and references are unknown, and the message lists what there is.
func TestRootsFromRegistry(t *testing.T) {
	file := writePipeline(t, `stage "fake" "s" {
  text = dataset.d.x
}
`)
	_, diags := Load(file, LoadOptions{Lookup: fakeLookup, Blocks: map[string]*BlockType{"model": {}}})
	if len(diags) == 0 || diags[0].Summary != "Unknown Reference" ||
		!strings.Contains(diags[0].Detail, "Expressions may refer to var.*, local.*, model.*, stage.") {
		t.Errorf("wrong diagnostics: %v", diags.Errs())
	}
	_, diags = Load(file, LoadOptions{Lookup: fakeLookup, Blocks: map[string]*BlockType{"model": {}, "dataset": {}}})
	if len(diags) != 1 || diags[0].Summary != "Reference To Undeclared Dataset" {
		t.Errorf("wrong diagnostics: %v", diags)
	}
}

// TestBlockKeysReserved checks that a registry key that would shadow the
// engine's own blocks or roots is refused.
func TestBlockKeysReserved(t *testing.T) {
	for _, key := range []string{"stage", "var", "each", "local", "locals", "variable", "executor", "executor.", "model.x", "no-dash!"} {
		t.Run(key, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("key %q was accepted", key)
				}
			}()
			newBlockTable(map[string]*BlockType{key: {}})
		})
	}
	tbl := newBlockTable(map[string]*BlockType{"model": {}, "dataset": {}, "executor.slurm": {}})
	if got := strings.Join(tbl.roots, " ") + " | " + strings.Join(tbl.executors, " "); got != "local dataset model | slurm" {
		t.Errorf("roots | executors = %q", got)
	}
}
