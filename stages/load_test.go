package stages

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"

	"github.com/refeval/refeval/engine"
)

// TestLoadErrorFiles loads every file in testdata/error-files with the real
// stage kinds and model blocks, and compares the diagnostics with the
// "# ERROR: <Summary>" comments on the bad lines (as engine's test does).
func TestLoadErrorFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/error-files/*.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no error files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			want := wantErrors(t, file)
			p, diags := engine.Load(file, engine.LoadOptions{Lookup: Lookup, Kinds: Names, Blocks: Blocks()})
			got := map[int]string{}
			for _, d := range diags {
				if d.Subject == nil {
					got[0] = d.Summary
					continue
				}
				got[d.Subject.Start.Line] = d.Summary
			}
			if diff := cmp.Diff(want, got); diff != "" {
				for _, d := range diags {
					t.Logf("%s", d)
				}
				t.Errorf("wrong diagnostics (-want +got):\n%s", diff)
			}
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

// wantErrors reads the "# ERROR: Summary" comments of a file; "# ERROR@0:"
// stands for a diagnostic with no range.
func wantErrors(t *testing.T, file string) map[int]string {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[int]string{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if _, s, ok := strings.Cut(text, "# ERROR@0: "); ok {
			want[0] = strings.TrimSpace(s)
		} else if _, s, ok := strings.Cut(text, "# ERROR: "); ok {
			want[line] = strings.TrimSpace(s)
		}
	}
	return want
}

func hclDiagWriter(w *strings.Builder, p *engine.Pipeline) hcl.DiagnosticWriter {
	return hcl.NewDiagnosticTextWriter(w, p.Files, 0, false)
}
