package stages

import (
	"fmt"
	"math"
	"math/big"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// attrs decodes the attributes of a model stage's block, collecting
// diagnostics: each getter leaves its destination (the default) alone when
// the attribute is absent, unknown or wrong, and reports the wrong ones.
type attrs struct {
	content  *hcl.BodyContent
	ectx     *hcl.EvalContext
	diags    hcl.Diagnostics
	required map[string]bool // the schema's required attributes
}

func newAttrs(body hcl.Body, schema *hcl.BodySchema, ectx *hcl.EvalContext) *attrs {
	content, diags := body.Content(schema)
	if content == nil {
		content = &hcl.BodyContent{Attributes: hcl.Attributes{}}
	}
	required := map[string]bool{}
	for _, s := range schema.Attributes {
		required[s.Name] = s.Required
	}
	return &attrs{content: content, ectx: ectx, diags: diags, required: required}
}

// value returns the evaluated attribute, and false when it is absent, does
// not evaluate, or is not yet known.
func (a *attrs) value(name string) (cty.Value, *hcl.Attribute, bool) {
	attr, ok := a.content.Attributes[name]
	if !ok {
		return cty.NilVal, nil, false
	}
	v, d := attr.Expr.Value(a.ectx)
	a.diags = append(a.diags, d...)
	if d.HasErrors() || !v.IsWhollyKnown() {
		return cty.NilVal, attr, false
	}
	return v, attr, true
}

func (a *attrs) errorf(attr *hcl.Attribute, summary, format string, args ...any) {
	a.diags = append(a.diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(format, args...),
		Subject:  attr.Expr.Range().Ptr(),
	})
}

// has says whether the block sets the attribute.
func (a *attrs) has(name string) bool {
	_, ok := a.content.Attributes[name]
	return ok
}

// str reads a non-empty string; what describes the expected value.
func (a *attrs) str(name string, dst *string, what string) {
	v, attr, ok := a.value(name)
	if !ok {
		return
	}
	s, err := convert.Convert(v, cty.String)
	if err != nil || s.IsNull() || s.AsString() == "" {
		a.errorf(attr, "Invalid "+name, "The %s argument must be %s.", name, what)
		return
	}
	*dst = s.AsString()
}

// oneOf reads a string that must be one of choices.
func (a *attrs) oneOf(name string, dst *string, choices ...string) {
	var s string
	a.str(name, &s, "one of "+quoteAll(choices))
	if s == "" {
		return
	}
	for _, c := range choices {
		if s == c {
			*dst = s
			return
		}
	}
	a.errorf(a.content.Attributes[name], "Invalid "+name, "The %s argument must be one of %s, not %q.", name, quoteAll(choices), s)
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// number reads a finite number in [lo, hi].
func (a *attrs) number(name string, dst *float64, lo, hi float64) {
	v, attr, ok := a.value(name)
	if !ok {
		return
	}
	n, err := convert.Convert(v, cty.Number)
	if err != nil || n.IsNull() {
		a.errorf(attr, "Invalid "+name, "The %s argument must be a number between %v and %v.", name, lo, hi)
		return
	}
	f, _ := n.AsBigFloat().Float64()
	if math.IsNaN(f) || math.IsInf(f, 0) || f < lo || f > hi {
		a.errorf(attr, "Invalid "+name, "The %s argument must be a number between %v and %v, not %v.", name, lo, hi, f)
		return
	}
	*dst = f
}

// integer reads a whole number in [lo, hi].
func (a *attrs) integer(name string, dst *int, lo, hi int) {
	v, attr, ok := a.value(name)
	if !ok {
		return
	}
	n, err := convert.Convert(v, cty.Number)
	bad := func() {
		a.errorf(attr, "Invalid "+name, "The %s argument must be a whole number between %d and %d.", name, lo, hi)
	}
	if err != nil || n.IsNull() {
		bad()
		return
	}
	i, acc := n.AsBigFloat().Int64()
	if acc != big.Exact || i < int64(lo) || i > int64(hi) {
		bad()
		return
	}
	*dst = int(i)
}

// boolean reads true or false.
func (a *attrs) boolean(name string, dst *bool) {
	v, attr, ok := a.value(name)
	if !ok {
		return
	}
	b, err := convert.Convert(v, cty.Bool)
	if err != nil || b.IsNull() {
		a.errorf(attr, "Invalid "+name, "The %s argument must be true or false.", name)
		return
	}
	*dst = b.True()
}

// strList reads a non-empty list of non-empty strings.
func (a *attrs) strList(name string, dst *[]string, what string) {
	v, attr, ok := a.value(name)
	if !ok {
		return
	}
	l, err := convert.Convert(v, cty.List(cty.String))
	if err != nil || l.IsNull() || l.LengthInt() == 0 {
		a.errorf(attr, "Invalid "+name, "The %s argument must be a non-empty list of %s.", name, what)
		return
	}
	var out []string
	for it := l.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() || e.AsString() == "" {
			a.errorf(attr, "Invalid "+name, "The %s argument must be a list of %s; it holds an empty string.", name, what)
			return
		}
		out = append(out, e.AsString())
	}
	*dst = out
}

// path reads a file or folder path, or a stage output object ({out = …}).
// null counts as absent, so that a conditional can leave it out, unless the
// schema requires the attribute.
func (a *attrs) path(name string, dst *string, what string) {
	v, attr, ok := a.value(name)
	if !ok {
		return
	}
	if v.IsNull() {
		if a.required[name] {
			a.errorf(attr, "Invalid "+name, "The %s argument is required: it must be %s, not null.", name, what)
		}
		return
	}
	if out, ok := field(v, "out"); ok {
		v = out
	}
	s, err := convert.Convert(v, cty.String)
	if err != nil || s.IsNull() || s.AsString() == "" {
		a.errorf(attr, "Invalid "+name, "The %s argument must be %s.", name, what)
		return
	}
	*dst = s.AsString()
}

// field returns the named attribute of an object or element of a map.
func field(v cty.Value, name string) (cty.Value, bool) {
	if v.IsNull() || !v.IsKnown() {
		return cty.NilVal, false
	}
	ty := v.Type()
	switch {
	case ty.IsObjectType() && ty.HasAttribute(name):
		return v.GetAttr(name), true
	case ty.IsMapType() && v.HasIndex(cty.StringVal(name)).True():
		return v.Index(cty.StringVal(name)), true
	}
	return cty.NilVal, false
}
