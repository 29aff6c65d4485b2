package stages

import (
	"path/filepath"
	"strings"
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
