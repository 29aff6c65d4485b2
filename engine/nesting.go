package engine

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// maxNesting is how deeply brackets, braces, parentheses, quotes and
// template sequences may nest in a pipeline file. HCL's parser recurses
// once per level and Go grows its stack until the 1 GB limit: 100,000
// nested brackets used 1 GB of memory and then crashed the process (issue
// 9). A real pipeline nests a few levels; 256 leaves ample room.
const maxNesting = 256

// parseHCL parses a pipeline file, after checking that it does not nest
// deeper than maxNesting (see checkNesting).
func parseHCL(parser *hclparse.Parser, src []byte, filename string) (*hcl.File, hcl.Diagnostics) {
	if diags := checkNesting(src, filename, maxNesting); diags.HasErrors() {
		return nil, diags
	}
	return parser.ParseHCL(src, filename)
}

// checkNesting measures src's depth with scanDepth, a byte scanner that
// builds no tokens; only a file it cannot measure, or one that nests too
// deep, is scanned again with HCL's lexer, which does not recurse either,
// to report the first opening token that would nest more than max levels
// deep, with its file:line:col. Unbalanced or invalid tokens are left to
// the parser: only the depth is checked here.
func checkNesting(src []byte, filename string, max int) hcl.Diagnostics {
	if depth, ok := scanDepth(src); ok && depth <= max {
		return nil
	}
	toks, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	depth := 0
	for _, tok := range toks {
		switch tok.Type {
		case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
			hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
			depth++
			if depth > max {
				rng := tok.Range
				return hcl.Diagnostics{{
					Severity: hcl.DiagError,
					Summary:  "Nesting Too Deep",
					Detail: fmt.Sprintf("Brackets, braces, parentheses, quotes and templates nest more than %d levels deep here. "+
						"Flatten the expression (a local value can hold an inner part), or check the file for an unclosed bracket.", max),
					Subject: &rng,
				}}
			}
		case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen,
			hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
			if depth > 0 {
				depth--
			}
		}
	}
	return nil
}
