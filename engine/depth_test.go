package engine

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// lexDepth is the depth checkNesting measures with HCL's lexer.
func lexDepth(src []byte) int {
	toks, _ := hclsyntax.LexConfig(src, "x.hcl", hcl.InitialPos)
	depth, maxDepth := 0, 0
	for _, tok := range toks {
		switch {
		case opens(tok.Type):
			depth++
			maxDepth = max(maxDepth, depth)
		case closes(tok.Type) && depth > 0:
			depth--
		}
	}
	return maxDepth
}

// TestScanDepthMatchesLexer checks that scanDepth, which lets checkNesting
// skip HCL's lexer, measures the depth the lexer does, on the repository's
// pipelines and on random strings of the bytes and sequences that the
// lexer's modes turn on (quotes, escapes, template sequences and their
// escapes, comments, "~}", broken UTF-8). A file scanDepth declines must be
// one with a heredoc or an open block comment.
func TestScanDepthMatchesLexer(t *testing.T) {
	var srcs [][]byte
	files, _ := filepath.Glob("../pipelines/*.hcl")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, b)
	}
	if len(srcs) == 0 {
		t.Fatal("no pipelines found in ../pipelines")
	}
	pieces := []string{"{", "}", "[", "]", "(", ")", `"`, "${", "%{", "$${", "%%{", "$", "%", `\`, `\"`, `\\`,
		"\n", "\r\n", "#", "//", "/*", "*/", "/", "*", "~}", "${~", "a", "x = ", " ", "é", "\xff", "\xc3", "<<EOT\nx\nEOT\n", "<",
		"-", "!", "==", "!=", "&&", "||", "?", ":", ">=", "+", "%", "=", "=>"}
	r := rand.New(rand.NewPCG(13, 13))
	for range 20000 {
		var b strings.Builder
		for range 1 + r.IntN(40) {
			b.WriteString(pieces[r.IntN(len(pieces))])
		}
		srcs = append(srcs, []byte(b.String()))
	}
	declined := 0
	for i, src := range srcs {
		got, ops, ok, _ := scanDepth(src)
		if !ok {
			declined++
			if i < len(files) {
				t.Errorf("%s: scanDepth declined a pipeline of the repository", files[i])
			}
			if !strings.Contains(string(src), "<<") && !strings.Contains(string(src), "/*") {
				t.Errorf("scanDepth declined %q, which has no heredoc or block comment", src)
			}
			continue
		}
		if want := lexDepth(src); got != want {
			t.Errorf("scanDepth(%q) = %d, the lexer's depth is %d", src, got, want)
		}
		if want := lexOps(src); ops < want {
			t.Errorf("scanDepth(%q) counts %d operators, fewer than the lexer's %d", src, ops, want)
		}
	}
	if declined > len(srcs)/2 {
		t.Errorf("scanDepth declined %d of %d inputs: the test compares too few", declined, len(srcs))
	}
}

// lexOps counts the operator tokens HCL's lexer finds in src.
func lexOps(src []byte) int {
	toks, _ := hclsyntax.LexConfig(src, "x.hcl", hcl.InitialPos)
	n := 0
	for _, tok := range toks {
		if isOperator(tok.Type) {
			n++
		}
	}
	return n
}
