package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/refeval/refeval/cache"
)

// TestGlobalsEvaluatedOnce checks that a local is evaluated once per
// pipeline, not once per instance: a for_each over a 2,000-element local
// took 113 s to plan when every instance evaluated every local. A local
// that refers to a stage output is evaluated per context, since its value
// depends on the upstream folders.
func TestGlobalsEvaluatedOnce(t *testing.T) {
	dir := t.TempDir()
	src := `
locals {
  keys  = toset(flatten([for j in range(2) : [for i in range(1000) : format("k%d%03d", j, i)]]))
  texts = { for k in local.keys : k => upper(k) }
  up    = "${stage.fake.first.out}/x"
}
stage "fake" "first" {
  text = "first"
}
stage "fake" "many" {
  for_each = local.keys
  text     = local.texts[each.key]
}
stage "fake" "last" {
  text = local.up
}
`
	file := filepath.Join(dir, "p.hcl")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p, diags := Load(file, LoadOptions{Blocks: fakeBlocks, Lookup: fakeLookup})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got := len(p.Stages); got != 2002 {
		t.Fatalf("wrong number of instances\ngot:  %d\nwant: %d", got, 2002)
	}
	c, err := cache.Open(filepath.Join(dir, ".refeval"), cache.Options{NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := Plan(context.Background(), p, p.Stages, c, nil); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"local.keys", "local.texts"} {
		if got := p.globals[name].evals.Load(); got != 1 {
			t.Errorf("wrong number of evaluations of %s\ngot:  %d\nwant: 1", name, got)
		}
	}
	if got := p.globals["local.up"].evals.Load(); got < 2 {
		t.Errorf("local.up, which refers to a stage, was evaluated %d times; want one per context", got)
	}
}

// TestLoadInterrupted checks that Load stops at a cancelled context with an
// "Interrupted" diagnostic instead of expanding and decoding every stage.
func TestLoadInterrupted(t *testing.T) {
	file := chainPipeline(t, 50)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	p, diags := Load(file, LoadOptions{Blocks: fakeBlocks, Lookup: fakeLookup, Context: ctx})
	if !diags.HasErrors() || diags[len(diags)-1].Summary != "Interrupted" {
		t.Fatalf("wrong diagnostics\ngot:  %v\nwant: an Interrupted error", diags)
	}
	if len(p.Stages) != 0 {
		t.Errorf("an interrupted load expanded %d instances; want none", len(p.Stages))
	}
	p, diags = Load(file, LoadOptions{Blocks: fakeBlocks, Lookup: fakeLookup})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if _, err := Plan(ctx, p, p.Stages, nil, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("wrong error from Plan with a cancelled context\ngot:  %v\nwant: %v", err, context.Canceled)
	}
}
