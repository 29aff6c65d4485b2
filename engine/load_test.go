package engine

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/refeval/refeval/internal/errorfile"
)

// TestLoadErrorFiles loads every file in testdata/error-files and compares
// the diagnostics with the "# ERROR: <Summary>" comments on the bad lines
// (terraform's TestParserLoadConfigFileError).
func TestLoadErrorFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/error-files/*.hcl")
	if err != nil || len(files) == 0 {
		t.Fatalf("no error files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			_, diags := Load(file, LoadOptions{Blocks: fakeBlocks, Lookup: fakeLookup, Kinds: fakeNames, Vars: varsFor(file)})
			errorfile.Check(t, file, diags)
		})
	}
}

// varsFor gives --var values to the files whose name asks for them.
func varsFor(file string) map[string]string {
	if strings.Contains(file, "undeclared-var-flag") {
		return map[string]string{"nope": "1"}
	}
	if strings.Contains(file, "var-flag-not-number") {
		return map[string]string{"n": "abc"}
	}
	return nil
}
