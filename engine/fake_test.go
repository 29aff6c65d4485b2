package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// fakeBlocks registers the top-level block types the engine's tests use,
// as attribute bags: model and dataset blocks of any attributes, and
// executor blocks of types fake and slurm.
var fakeBlocks = map[string]*BlockType{"model": {}, "dataset": {}, "executor.fake": {}, "executor.slurm": {}}

// fakeKind is a stage kind for tests: it writes its text attribute to
// out/result.txt, or fails when fail is true.
var fakeKind = &Kind{
	Name:    "fake",
	Version: "1",
	Schema:  fakeSchema,
	Decode:  decodeFake,
}

var fakeSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "text", Required: true},
	{Name: "inputs"},
	{Name: "n"},
	{Name: "fail"},
}}

type fakeStage struct {
	text   string
	inputs []string
	fail   bool
}

func decodeFake(body hcl.Body, ctx *hcl.EvalContext) (Stage, hcl.Diagnostics) {
	content, diags := body.Content(fakeSchema)
	st := &fakeStage{}
	get := func(name string, ty cty.Type) cty.Value {
		a, ok := content.Attributes[name]
		if !ok {
			return cty.NullVal(ty)
		}
		v, d := a.Expr.Value(ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			return cty.NullVal(ty)
		}
		cv, err := convert.Convert(v, ty)
		if err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Incorrect Attribute Type",
				Detail: fmt.Sprintf("%s: %v.", name, err), Subject: a.Expr.Range().Ptr()})
			return cty.NullVal(ty)
		}
		return cv
	}
	if v := get("text", cty.String); !v.IsNull() {
		st.text = v.AsString()
	}
	if v := get("inputs", cty.List(cty.String)); !v.IsNull() {
		for _, e := range v.AsValueSlice() {
			st.inputs = append(st.inputs, e.AsString())
		}
	}
	get("n", cty.Number)
	if v := get("fail", cty.Bool); !v.IsNull() {
		st.fail = v.True()
	}
	return st, diags
}

func (s *fakeStage) Inputs() []string { return s.inputs }

func (s *fakeStage) Run(ctx context.Context, rc *RunContext) error {
	if s.fail {
		fmt.Fprintf(rc.Log, "failing on purpose\n")
		return fmt.Errorf("failed on purpose")
	}
	return os.WriteFile(filepath.Join(rc.Out, "result.txt"), []byte(s.text), 0o644)
}

func fakeLookup(name string) (*Kind, bool) {
	if name == "fake" {
		return fakeKind, true
	}
	return nil, false
}

func fakeNames() []string { return []string{"fake"} }
