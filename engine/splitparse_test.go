package engine

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// cutSmall makes splitParse cut any file into up to ways parts for the
// rest of the test.
func cutSmall(tb testing.TB, ways int) {
	min, part, w := splitMin, splitPart, splitWays
	splitMin, splitPart, splitWays = 0, 1, func() int { return ways }
	tb.Cleanup(func() { splitMin, splitPart, splitWays = min, part, w })
}

// sameAsWhole parses src whole and, if scanDepth can measure it, in parts;
// when splitParse joins the parts, their body must be the whole file's,
// range for range. It reports whether the parts were joined.
func sameAsWhole(tb testing.TB, src []byte) bool {
	tb.Helper()
	_, _, ok, items := scanDepth(src)
	if !ok {
		return false
	}
	joined := splitParse(src, "p.hcl", items)
	whole, diags := hclsyntax.ParseConfig(src, "p.hcl", hcl.InitialPos)
	if joined == nil {
		return false
	}
	if diags.HasErrors() {
		tb.Fatalf("the parts parsed, the whole file did not: %v\n%s", diags, src)
	}
	wb, jb := whole.Body.(*hclsyntax.Body), joined.Body.(*hclsyntax.Body)
	if !reflect.DeepEqual(wb.Blocks, jb.Blocks) || len(wb.Attributes) != 0 ||
		wb.SrcRange != jb.SrcRange || wb.EndRange != jb.EndRange || string(joined.Bytes) != string(src) {
		tb.Fatalf("the joined parts differ from the whole file's parse:\n%s", src)
	}
	return true
}

// TestSplitParseSameAsWhole cuts every pipeline file of the repository,
// and a 200-stage one, into 2 to 8 parts: the joined parts are the whole
// file's parse. A file with a top-level attribute, a heredoc or an error
// is not cut.
func TestSplitParseSameAsWhole(t *testing.T) {
	var files []string
	for _, pattern := range []string{"../pipelines/*.hcl", "testdata/*/*.hcl", "../*/testdata/*.hcl", "../*/testdata/*/*.hcl"} {
		m, _ := filepath.Glob(pattern)
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("found only %d pipeline files", len(files))
	}
	srcs := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs[f] = b
	}
	big, err := os.ReadFile(chainPipeline(t, 200))
	if err != nil {
		t.Fatal(err)
	}
	srcs["200 stages"] = big
	for ways := 2; ways <= 8; ways++ {
		cutSmall(t, ways)
		joined := 0
		for name, src := range srcs {
			t.Run(fmt.Sprintf("%s/%d", name, ways), func(t *testing.T) {
				if sameAsWhole(t, src) {
					joined++
				}
			})
		}
		if joined < 5 {
			t.Errorf("%d ways: only %d files were cut and joined", ways, joined)
		}
	}
	cutSmall(t, 4)
	for name, src := range map[string]string{
		"attribute": "x = 1\nstage \"a\" \"b\" {\n}\nstage \"a\" \"c\" {\n}\n",
		"heredoc":   "stage \"a\" \"b\" {\n  t = <<EOT\nstage \"a\" \"c\" {\nEOT\n}\nstage \"a\" \"d\" {\n}\n",
		"error":     "stage \"a\" \"b\" {\n}\nstage \"a\" \"c\" {\n  x = \n}\n",
	} {
		_, _, _, items := scanDepth([]byte(src))
		if splitParse([]byte(src), "p.hcl", items) != nil {
			t.Errorf("%s: the file was cut", name)
		}
	}
	// Comments and a list that hold what looks like a block at the start
	// of a line are never cut inside (a cut there would make a part fail,
	// or parse to other blocks).
	tricky := strings.Join([]string{
		"stage \"a\" \"b\" {\n  t = \"x\\nstage \\\"q\\\" {\"\n}",
		"# stage \"a\" \"c\" {\nstage \"a\" \"d\" {\n  t = \"${foo}\"\n}",
		"/*\nstage \"a\" \"e\" {\n*/\nstage \"a\" \"f\" {\n}",
		"stage \"a\" \"g\" {\n  t = [\nfoo,\nbar]\n}",
		"stage \"a\" \"h\" {\n  t = {\nfoo = 1\n}\n}\n",
	}, "\n")
	if !sameAsWhole(t, []byte(tricky)) {
		t.Errorf("the tricky file was not cut:\n%s", tricky)
	}
}

// FuzzSplitParse: whenever splitParse joins a file's parts, they are the
// whole file's parse.
func FuzzSplitParse(f *testing.F) {
	seeds, _ := filepath.Glob("../pipelines/*.hcl")
	more, _ := filepath.Glob("testdata/*/*.hcl")
	for _, s := range append(seeds, more...) {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > 16<<10 {
			return
		}
		cutSmall(t, 4)
		sameAsWhole(t, src)
	})
}
