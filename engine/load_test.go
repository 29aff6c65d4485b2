package engine

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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
			want := wantErrors(t, file)
			if len(want) == 0 {
				t.Fatalf("%s has no \"# ERROR: Summary\" comment; an error file must say which error it expects", file)
			}
			_, diags := Load(file, LoadOptions{Lookup: fakeLookup, Kinds: fakeNames, Vars: varsFor(file)})
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
		})
	}
}

// wantErrors reads the "# ERROR: Summary" comments of a file; a comment on
// line 1 reading "# ERROR@0: Summary" stands for a diagnostic with no range.
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
