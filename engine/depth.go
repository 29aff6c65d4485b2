package engine

import "bytes"

// scanDepth returns how deeply the tokens of src nest, counted as
// checkNesting counts them over HCL's lexer (brackets, braces,
// parentheses, quotes and template sequences), without building tokens:
// it follows the lexer's rules for the bytes that open and close them.
// ops counts the bytes outside strings and comments that may be operators
// (each operator token has at least one): more than any chain of them. It
// reports ok false, and the caller lexes src, for what it does not follow:
// heredocs and a block comment left open. items lists the offsets of the
// lines that start with a letter outside every bracket, quote, template
// sequence and comment: where top-level blocks and attributes start
// (splitParse cuts the file there).
func scanDepth(src []byte) (maxDepth, ops int, ok bool, items []int) {
	depth := 0
	open := func() {
		depth++
		if depth > maxDepth {
			maxDepth = depth
		}
	}
	shut := func() {
		if depth > 0 {
			depth--
		}
	}
	// As in the lexer (scan_tokens.rl): braces counts "{" and template
	// sequence openers less closing braces; a closing brace at the level a
	// template sequence opened at ends it and returns to the quoted string
	// it was opened in (heredocs are left to the lexer). inString is true
	// inside a quoted string.
	braces := 0
	var retBraces []int
	inString := false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inString {
			switch c {
			case '"':
				shut()
				inString = false
			case '\\':
				if i+1 < len(src) && src[i+1] != '\n' && src[i+1] != '\r' {
					i++ // an escaped character (an escaped multi-byte one leaves only continuation bytes, never special)
				}
			case '$', '%':
				switch {
				case i+1 < len(src) && src[i+1] == '{':
					open()
					braces++
					retBraces = append(retBraces, braces)
					inString = false
					i++
				case i+2 < len(src) && src[i+1] == c && src[i+2] == '{':
					i += 2 // "$${" and "%%{" are literal text
				}
			}
			continue
		}
		switch c {
		case '[', '(':
			open()
		case ']', ')':
			shut()
		case '{':
			open()
			braces++
		case '}':
			shut()
			if n := len(retBraces); n > 0 && retBraces[n-1] == braces {
				retBraces = retBraces[:n-1]
				inString = true
			}
			braces--
		case '"':
			open()
			inString = true
		case '#':
			i = lineEnd(src, i)
		case '/':
			if i+1 < len(src) && src[i+1] == '/' {
				i = lineEnd(src, i)
			} else if i+1 < len(src) && src[i+1] == '*' {
				end := bytes.Index(src[i+2:], []byte("*/"))
				if end < 0 {
					return maxDepth, ops, false, nil
				}
				i += 2 + end + 1
			} else {
				ops++
			}
		case '<':
			if i+1 < len(src) && src[i+1] == '<' {
				return maxDepth, ops, false, nil // perhaps a heredoc
			}
			ops++
		case '+', '-', '*', '%', '!', '>', '?', '&', '|':
			ops++
		case '=':
			if i+1 < len(src) && src[i+1] == '=' {
				ops++
			}
		case '\n':
			if depth == 0 && braces == 0 && i+1 < len(src) && isLetter(src[i+1]) {
				items = append(items, i+1)
			}
		}
	}
	return maxDepth, ops, true, items
}

// isLetter reports whether c is an ASCII letter: how an identifier that
// starts a block or attribute begins.
func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// lineEnd returns the index of the first newline at or after i, or the
// last index of src if there is none: where a line comment ends.
func lineEnd(src []byte, i int) int {
	if j := bytes.IndexByte(src[i:], '\n'); j >= 0 {
		return i + j
	}
	return len(src) - 1
}
