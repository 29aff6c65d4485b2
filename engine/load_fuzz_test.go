package engine

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad loads arbitrary pipeline files: Load must return diagnostics
// for any input, never panic or overflow its stack (nesting.go). Seeds are
// the test pipelines. scripts/test.sh runs it for a fixed time in CI.
// Inputs are capped at 4 KB, and the seeds call no function that could
// build huge values (range, pow, setproduct), so that each input loads in
// milliseconds.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.hcl")
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("locals {\n  x = [[[[[[[[1]]]]]]]]\n  y = \"${\"${local.x}\"}\"\n}\n"))
	dir := f.TempDir()
	file := filepath.Join(dir, "p.hcl")
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 4<<10 {
			return
		}
		if err := os.WriteFile(file, src, 0o644); err != nil {
			t.Fatal(err)
		}
		p, diags := Load(file, LoadOptions{Blocks: fakeBlocks, Lookup: fakeLookup, Kinds: fakeNames})
		if p == nil {
			t.Fatal("Load returned a nil Pipeline")
		}
		for _, d := range diags {
			if d.Summary == "" {
				t.Errorf("diagnostic without a summary: %v", d)
			}
		}
	})
}
