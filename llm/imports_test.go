package llm

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoPipelineImports checks the layering rule that llm knows no
// pipeline: no package under llm imports HCL or cty, nor any refeval
// package outside llm and internal (engine, stages, cache, cmd), so none
// can reach them indirectly either.
func TestNoPipelineImports(t *testing.T) {
	fset := token.NewFileSet()
	files := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		files++
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			switch {
			case strings.HasPrefix(p, "github.com/hashicorp/hcl"), strings.HasPrefix(p, "github.com/zclconf/go-cty"):
				t.Errorf("llm/%s imports %s: llm knows no pipeline; decode HCL in stages and hand llm a plain value", path, p)
			case strings.HasPrefix(p, "github.com/refeval/refeval/") &&
				!strings.HasPrefix(p, "github.com/refeval/refeval/llm") && !strings.HasPrefix(p, "github.com/refeval/refeval/internal/"):
				t.Errorf("llm/%s imports %s: llm depends only on llm/… and internal/…", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 20 {
		t.Fatalf("walked only %d files", files)
	}
}
