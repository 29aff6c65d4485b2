package stages

import (
	"bytes"
	"fmt"
	"os"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/refeval/refeval/engine"
)

// checkInputFiles is the engine.Kind.CheckInputs of every kind with a
// prompts, references or template attribute (set by Register), and the one
// load-time check of input contents: it checks the files those attributes
// name, which mean the same in every kind, so that a bad file fails the
// load instead of a stage after its upstream stages ran:
//
//	prompts     a prompts file with at least one prompt
//	references  at least one reference per prompt (the first limit prompts)
//	template    a judge template in the layout ParseJudgeTemplate reads
//
// Files inside upstream outputs do not exist yet and are skipped.
func checkInputFiles(body hcl.Body, ectx *hcl.EvalContext, dir string) hcl.Diagnostics {
	content, _, _ := body.PartialContent(inputCheckSchema)
	var diags hcl.Diagnostics
	errorf := func(a *hcl.Attribute, summary, format string, args ...any) {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary,
			Detail: fmt.Sprintf(format, args...), Subject: a.Expr.Range().Ptr()})
	}
	// file returns the local file an attribute names, as written, and the
	// attribute; nil when absent, not a string, a folder, or inside an
	// upstream output.
	file := func(name string) (string, *hcl.Attribute) {
		a := content.Attributes[name]
		if a == nil {
			return "", nil
		}
		v, d := a.Expr.Value(ectx)
		if d.HasErrors() || !v.IsWhollyKnown() || v.IsNull() {
			return "", nil
		}
		if out, ok := field(v, "out"); ok {
			v = out
		}
		s, err := convert.Convert(v, cty.String)
		if err != nil || s.IsNull() || engine.IsPending(s.AsString()) {
			return "", nil
		}
		if fi, err := os.Stat(resolve(dir, s.AsString())); err != nil || fi.IsDir() {
			return "", nil
		}
		return s.AsString(), a
	}

	prompts := -1
	if path, a := file("prompts"); a != nil {
		n, err := countLines(resolve(dir, path))
		switch {
		case err != nil:
			errorf(a, "Unreadable Prompts File", "%v.", err)
		case n == 0:
			errorf(a, "Empty Prompts File", "%s holds no prompts. A prompts file holds one JSON object a line, such as {\"prompt\": \"…\"}.", path)
		default:
			prompts = n
		}
	}
	if a := content.Attributes["limit"]; a != nil && prompts > 0 {
		if v, d := a.Expr.Value(ectx); !d.HasErrors() && v.IsKnown() && !v.IsNull() {
			if n, err := convert.Convert(v, cty.Number); err == nil && !n.IsNull() {
				if l, acc := n.AsBigFloat().Int64(); acc == 0 && l > 0 && int(l) < prompts {
					prompts = int(l)
				}
			}
		}
	}
	if path, a := file("references"); a != nil && prompts > 0 {
		n, err := countLines(resolve(dir, path))
		switch {
		case err != nil:
			errorf(a, "Unreadable References File", "%v.", err)
		case n < prompts:
			errorf(a, "Wrong Reference Count", "%s has %d references for %d prompts; it needs one line per prompt, in prompt order.", path, n, prompts)
		}
	}
	if path, a := file("template"); a != nil {
		if _, err := readTemplate(dir, path); err != nil {
			errorf(a, "Invalid Input File", "%v.", err)
		}
	}
	return diags
}

// inputCheckSchema holds the attributes checkInputFiles reads;
// checkedInputs those whose presence makes Register set it.
var (
	inputCheckSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "prompts"}, {Name: "references"}, {Name: "limit"}, {Name: "template"},
	}}
	checkedInputs = []string{"prompts", "references", "template"}
)

// lineCounts remembers countLines by path, size and modification time: the
// instances of a for_each block often share one large prompts file.
var lineCounts sync.Map // lineKey → int

type lineKey struct {
	path  string
	size  int64
	mtime int64
}

// countLines counts the lines of a file that are not blank.
func countLines(path string) (int, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	key := lineKey{path, fi.Size(), fi.ModTime().UnixNano()}
	if n, ok := lineCounts.Load(key); ok {
		return n.(int), nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n := 0
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		if len(bytes.TrimSpace(line)) > 0 {
			n++
		}
	}
	lineCounts.Store(key, n)
	return n, nil
}
