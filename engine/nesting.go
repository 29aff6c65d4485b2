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
	items, diags := checkNesting(src, filename, maxNesting)
	if diags.HasErrors() {
		return nil, diags
	}
	if f := splitParse(src, filename, items); f != nil {
		parser.AddFile(filename, f)
		return f, nil
	}
	return parser.ParseHCL(src, filename)
}

// maxOperators is how many operators (unary, binary, conditional) an
// expression may chain, counting those of the expressions it sits in. HCL
// parses a chain of unary operators or conditionals with one call per
// operator and evaluates a chain of binary operators as a tree as deep as
// the chain: 1,000,000 minus signs overflowed Go's 1 GB stack as brackets
// did, and 300,000 "+1" took 1.2 GB. A real expression chains a few.
const maxOperators = 1024

// checkNesting measures src with scanDepth, a byte scanner that builds no
// tokens; only a file it cannot measure, or one that may nest or chain too
// deep, is scanned again with HCL's lexer, which does not recurse either,
// to report the first opening token that would nest more than max levels
// deep, or the first operator that would chain more than maxOperators
// deep, with its file:line:col. Unbalanced or invalid tokens are left to
// the parser: only the depth is checked here.
//
// It also returns scanDepth's top-level item offsets, when it could
// measure src.
func checkNesting(src []byte, filename string, max int) ([]int, hcl.Diagnostics) {
	if depth, ops, ok, items := scanDepth(src); ok && depth <= max && ops <= maxOperators {
		return items, nil
	}
	toks, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	depth := 0
	// levels holds, per open bracket (the file itself first), its kind and
	// the operators of its current expression; ops is their sum.
	type level struct {
		open hclsyntax.TokenType
		ops  int
	}
	levels := []level{{open: hclsyntax.TokenOBrace}}
	ops := 0
	tooDeep := func(tok hclsyntax.Token, detail string) ([]int, hcl.Diagnostics) {
		rng := tok.Range
		return nil, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Nesting Too Deep", Detail: detail, Subject: &rng}}
	}
	endExpr := func() {
		top := &levels[len(levels)-1]
		ops -= top.ops
		top.ops = 0
	}
	for _, tok := range toks {
		switch {
		case opens(tok.Type):
			depth++
			if depth > max {
				return tooDeep(tok, fmt.Sprintf("Brackets, braces, parentheses, quotes and templates nest more than %d levels deep here. "+
					"Flatten the expression (a local value can hold an inner part), or check the file for an unclosed bracket.", max))
			}
			levels = append(levels, level{open: tok.Type})
		case closes(tok.Type):
			if depth > 0 {
				depth--
				endExpr()
				levels = levels[:len(levels)-1]
			}
		case tok.Type == hclsyntax.TokenComma:
			endExpr()
		case tok.Type == hclsyntax.TokenNewline:
			// A newline ends an expression in a block body or an object,
			// not inside brackets or parentheses.
			if levels[len(levels)-1].open == hclsyntax.TokenOBrace {
				endExpr()
			}
		default:
			if !isOperator(tok.Type) {
				continue
			}
			levels[len(levels)-1].ops++
			ops++
			if ops > maxOperators {
				return tooDeep(tok, fmt.Sprintf("Operators chain more than %d deep here (each one nests the rest of the expression). "+
					"Split the expression into local values.", maxOperators))
			}
		}
	}
	return nil, nil
}

// opens reports whether a token opens a nesting level: a bracket, brace,
// parenthesis, quote, heredoc or template sequence.
func opens(t hclsyntax.TokenType) bool {
	switch t {
	case hclsyntax.TokenOBrace, hclsyntax.TokenOBrack, hclsyntax.TokenOParen,
		hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc,
		hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl:
		return true
	}
	return false
}

// closes reports whether a token closes a level opens opened.
func closes(t hclsyntax.TokenType) bool {
	switch t {
	case hclsyntax.TokenCBrace, hclsyntax.TokenCBrack, hclsyntax.TokenCParen,
		hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc, hclsyntax.TokenTemplateSeqEnd:
		return true
	}
	return false
}

// isOperator reports whether a token is a unary, binary or conditional
// operator, which HCL nests as it nests brackets.
func isOperator(t hclsyntax.TokenType) bool {
	switch t {
	case hclsyntax.TokenPlus, hclsyntax.TokenMinus, hclsyntax.TokenStar, hclsyntax.TokenSlash, hclsyntax.TokenPercent,
		hclsyntax.TokenAnd, hclsyntax.TokenOr, hclsyntax.TokenBang,
		hclsyntax.TokenEqualOp, hclsyntax.TokenNotEqual, hclsyntax.TokenLessThan, hclsyntax.TokenLessThanEq,
		hclsyntax.TokenGreaterThan, hclsyntax.TokenGreaterThanEq, hclsyntax.TokenQuestion:
		return true
	}
	return false
}
