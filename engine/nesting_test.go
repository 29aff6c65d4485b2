package engine

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadDeepNesting loads files that nest far deeper than maxNesting.
// Before checkNesting, 100,000 nested brackets grew HCL's parser stack to
// Go's 1 GB limit and killed the process; now each is one "Nesting Too
// Deep" diagnostic at the first bracket past the limit. So are long chains of
// operators, which HCL nests as deeply (1,000,000 minus signs overflowed the
// stack too).
func TestLoadDeepNesting(t *testing.T) {
	const n = 100_000
	tests := []struct {
		name    string
		src     string
		line    int
		col     int // of the opening token that is one level too deep (the locals block is the first level)
		wantErr bool
	}{
		{"brackets", "locals {\n  x = " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n}\n", 2, 6 + maxNesting, true},
		{"parens", "locals {\n  x = " + strings.Repeat("(", n) + "1" + strings.Repeat(")", n) + "\n}\n", 2, 6 + maxNesting, true},
		{"objects", "locals {\n  x = " + strings.Repeat("{a=", n) + "1" + strings.Repeat("}", n) + "\n}\n", 2, 7 + 3*(maxNesting-1), true},
		{"unclosed", "locals {\n  x = " + strings.Repeat("[", n) + "\n", 2, 6 + maxNesting, true},
		{"templates", "locals {\n  x = " + strings.Repeat(`"${`, n) + "1" + strings.Repeat(`}"`, n) + "\n}\n", 2, 0, true},
		{"minus signs", "locals {\n  x = " + strings.Repeat("-", 10*n) + "1\n}\n", 2, 7 + maxOperators, true},
		{"negations in parentheses", "locals {\n  x = " + strings.Repeat("!(", n) + "true" + strings.Repeat(")", n) + "\n}\n", 2, 0, true},
		{"minus signs on lines", "locals {\n  x = (" + strings.Repeat("-\n", 10*n) + "1)\n}\n", 2 + maxOperators, 1, true},
		{"sums", "locals {\n  x = 1" + strings.Repeat("+1", n) + "\n}\n", 2, 8 + 2*maxOperators, true},
		{"conditionals", "locals {\n  x = true" + strings.Repeat(" ? 1 : true", n) + "\n}\n", 2, 0, true},
		{"operators within limit", "locals {\n  x = 1" + strings.Repeat("+1", maxOperators) + "\n  y = [" + strings.Repeat("-1, ", n) + "]\n  z = 2" + strings.Repeat("*2", maxOperators) + "\n}\n", 0, 0, false},
		{"within limit", "locals {\n  x = " + strings.Repeat("[", maxNesting-1) + strings.Repeat("]", maxNesting-1) + "\n}\n", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "deep.hcl")
			if err := os.WriteFile(file, []byte(tt.src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, diags := Load(file, LoadOptions{Blocks: fakeBlocks, Lookup: fakeLookup, Kinds: fakeNames})
			var deep []string
			for _, d := range diags {
				if d.Summary == "Nesting Too Deep" {
					deep = append(deep, d.Error())
					if d.Subject == nil || d.Subject.Filename != file || d.Subject.Start.Line != tt.line ||
						(tt.col != 0 && d.Subject.Start.Column != tt.col) {
						t.Errorf("wrong range\ngot:  %v\nwant: %s:%d:%d", d.Subject, file, tt.line, tt.col)
					}
				}
			}
			if tt.wantErr && (len(deep) != 1 || len(diags) != 1) {
				t.Errorf("wrong diagnostics\ngot:  %v\nwant: one Nesting Too Deep", diags)
			}
			if !tt.wantErr && len(deep) != 0 {
				t.Errorf("wrong diagnostics\ngot:  %v\nwant: no Nesting Too Deep", deep)
			}
		})
	}
}
