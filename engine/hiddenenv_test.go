package engine

import (
	"context"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

// TestHiddenEnv checks that a stage's processes are kept from the secrets
// of the model blocks it does not refer to, directly, through a local or
// through for_each, and that a block type's Check reports into the block.
func TestHiddenEnv(t *testing.T) {
	src := `
model "a" {
  key = "KEY_A"
}
model "b" {
  key = "KEY_B"
}
locals {
  l = model.b
}
stage "fake" "direct" {
  text = model.a.key
}
stage "fake" "local" {
  text = local.l.key
}
stage "fake" "none" {
  text = "x"
}
stage "fake" "each" {
  for_each = { x = model.a }
  text     = each.value.key
}
`
	file := writePipeline(t, src)
	modelType := &BlockType{
		Attributes: []string{"key"},
		Secrets: func(v any) []string {
			return []string{v.(string)}
		},
		Decode: func(blk *hcl.Block, ectx *hcl.EvalContext) (any, hcl.Diagnostics) {
			attrs, diags := blk.Body.JustAttributes()
			v, d := attrs["key"].Expr.Value(ectx)
			return v.AsString(), append(diags, d...)
		},
	}
	p, diags := Load(file, LoadOptions{Lookup: fakeLookup, Blocks: map[string]*BlockType{"model": modelType}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	tests := []struct {
		addr string
		want []string
	}{
		{"stage.fake.direct", []string{"KEY_B"}},
		{"stage.fake.local", []string{"KEY_A"}},
		{"stage.fake.none", []string{"KEY_A", "KEY_B"}},
		{`stage.fake.each["x"]`, []string{"KEY_B"}},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			in, ok := p.Lookup(tt.addr)
			if !ok {
				t.Fatalf("no instance %s", tt.addr)
			}
			if diff := cmp.Diff(tt.want, p.HiddenEnv(in)); diff != "" {
				t.Errorf("wrong hidden variables (-want +got):\n%s", diff)
			}
			// A cluster job (RunStage) hides the same variables.
			a, err := p.computeAction(nil, in, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			rc := &RunContext{Addr: tt.addr, Dir: p.Dir, Out: t.TempDir(), Log: io.Discard}
			if err := RunStage(context.Background(), p, tt.addr, nil, a.config, rc); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, rc.HiddenEnv); diff != "" {
				t.Errorf("wrong hidden variables in a job (-want +got):\n%s", diff)
			}
		})
	}
}
