package chat

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// This file is the lexer, a port of @huggingface/jinja 0.5.11's src/lexer.ts.

type tokenType uint8

const (
	tText tokenType = iota
	tNumber
	tString
	tIdent
	tEquals
	tOpenParen
	tCloseParen
	tOpenStatement
	tCloseStatement
	tOpenExpression
	tCloseExpression
	tOpenSquare
	tCloseSquare
	tOpenCurly
	tCloseCurly
	tComma
	tDot
	tColon
	tPipe
	tAdditive
	tMultiplicative
	tExponent
	tComparison
	tUnary
	tComment
)

var tokenNames = [...]string{"Text", "NumericLiteral", "StringLiteral", "Identifier", "Equals", "OpenParen", "CloseParen",
	"OpenStatement", "CloseStatement", "OpenExpression", "CloseExpression", "OpenSquareBracket", "CloseSquareBracket",
	"OpenCurlyBracket", "CloseCurlyBracket", "Comma", "Dot", "Colon", "Pipe", "AdditiveBinaryOperator",
	"MultiplicativeBinaryOperator", "ExponentiationBinaryOperator", "ComparisonBinaryOperator", "UnaryOperator", "Comment"}

func (t tokenType) String() string { return tokenNames[t] }

type token struct {
	typ tokenType
	val string
	pos int // byte offset in the preprocessed template, for error messages
}

// near quotes the template around byte offset pos, for error messages.
func near(src string, pos int) string {
	lo, hi := max(pos-20, 0), min(pos+20, len(src))
	for lo > 0 && !utf8.RuneStart(src[lo]) {
		lo--
	}
	for hi < len(src) && !utf8.RuneStart(src[hi]) {
		hi++
	}
	return fmt.Sprintf(" near %q", src[lo:hi])
}

// orderedMapping is the lexer's table of fixed tokens, in the order it tries them.
var orderedMapping = []struct {
	seq string
	typ tokenType
}{
	{"{%", tOpenStatement}, {"%}", tCloseStatement}, {"{{", tOpenExpression}, {"}}", tCloseExpression},
	{"(", tOpenParen}, {")", tCloseParen}, {"{", tOpenCurly}, {"}", tCloseCurly},
	{"[", tOpenSquare}, {"]", tCloseSquare}, {",", tComma}, {".", tDot}, {":", tColon}, {"|", tPipe},
	{"<=", tComparison}, {">=", tComparison}, {"==", tComparison}, {"!=", tComparison}, {"<", tComparison}, {">", tComparison},
	{"+", tAdditive}, {"-", tAdditive}, {"~", tAdditive},
	{"**", tExponent}, {"*", tMultiplicative}, {"//", tMultiplicative}, {"/", tMultiplicative}, {"%", tMultiplicative},
	{"=", tEquals},
}

var escapes = map[byte]string{'n': "\n", 't': "\t", 'r': "\r", 'b': "\b", 'f': "\f", 'v': "\v", '\'': "'", '"': "\"", '\\': "\\"}

// jsSpaceClass is JavaScript's \s as a Go regexp class.
const jsSpaceClass = `[\t\n\v\f\r \x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\x{feff}]`

var generationTag = regexp.MustCompile(`(?s)(` + jsSpaceClass + `*)\{%(-?)` + jsSpaceClass + `*(?:end)?generation` + jsSpaceClass + `*(-?)%\}(` + jsSpaceClass + `*)`)

// preprocess drops one trailing newline, applies lstrip_blocks and trim_blocks the way
// the JavaScript regular expressions do, and removes {% generation %} tags.
func preprocess(src string) string {
	src = strings.TrimSuffix(src, "\n")

	// lstrip_blocks: /^[ \t]*({[#%-])/gm → "$1". ^ also matches after \r, U+2028 and U+2029.
	var b strings.Builder
	b.Grow(len(src))
	lineStart := true
	for i := 0; i < len(src); {
		if lineStart {
			j := i
			for j < len(src) && (src[j] == ' ' || src[j] == '\t') {
				j++
			}
			if j+1 < len(src) && src[j] == '{' && (src[j+1] == '#' || src[j+1] == '%' || src[j+1] == '-') {
				i = j
			}
		}
		r, size := utf8.DecodeRuneInString(src[i:])
		lineStart = r == '\n' || r == '\r' || r == 0x2028 || r == 0x2029
		b.WriteString(src[i : i+size])
		i += size
	}
	src = b.String()

	// trim_blocks: /([#%-]})\n/g → "$1".
	b.Reset()
	for i := 0; i < len(src); i++ {
		c := src[i]
		if (c == '#' || c == '%' || c == '-') && i+2 < len(src) && src[i+1] == '}' && src[i+2] == '\n' {
			b.WriteByte(c)
			b.WriteByte('}')
			i += 2
			continue
		}
		b.WriteByte(c)
	}
	src = b.String()

	if strings.Contains(src, "generation") {
		src = generationTag.ReplaceAllStringFunc(src, func(m string) string {
			g := generationTag.FindStringSubmatch(m)
			out := ""
			if g[2] == "" {
				out += g[1]
			}
			if g[3] == "" {
				out += g[4]
			}
			return out
		})
	}
	return src
}

// tokenize splits a template into tokens.
func tokenize(source string) ([]token, string, error) {
	src := preprocess(source)
	var toks []token
	pos := 0
	curly := 0
	n := len(src)
	errf := func(format string, args ...any) error { return fmt.Errorf(format+near(src, pos), args...) }
	at0 := 0 // where the token being read starts
	at := func(i int) byte {
		if i < n {
			return src[i]
		}
		return 0
	}
	isSpaceAt := func(i int) (bool, int) {
		if i >= n {
			return false, 0
		}
		r, size := utf8.DecodeRuneInString(src[i:])
		return isJSSpace(r), size
	}
	// consumeWhile reads characters while pred holds, decoding escapes, as the
	// JavaScript does (it fails when the run reaches the end of the input).
	consumeWhile := func(pred func(i int) (bool, int)) (string, error) {
		var s strings.Builder
		for {
			ok, size := pred(pos)
			if !ok {
				break
			}
			if src[pos] == '\\' {
				pos++
				if pos >= n {
					return "", errf("unexpected end of input")
				}
				esc := src[pos]
				pos++
				if esc == 'x' || esc == 'u' {
					l := 2
					if esc == 'u' {
						l = 4
					}
					var v rune
					if pos+l > n {
						return "", errf("invalid hexadecimal escape sequence: \\%c%s", esc, src[pos:])
					}
					for _, h := range src[pos : pos+l] {
						switch {
						case h >= '0' && h <= '9':
							v = v*16 + h - '0'
						case h >= 'a' && h <= 'f':
							v = v*16 + h - 'a' + 10
						case h >= 'A' && h <= 'F':
							v = v*16 + h - 'A' + 10
						default:
							return "", errf("invalid hexadecimal escape sequence: \\%c%s", esc, src[pos:pos+l])
						}
					}
					s.WriteRune(v)
					pos += l
					continue
				}
				un, ok := escapes[esc]
				if !ok {
					return "", errf("unexpected escaped character: %c", esc)
				}
				s.WriteString(un)
				continue
			}
			s.WriteString(src[pos : pos+size])
			pos += size
			if pos >= n {
				return "", errf("unexpected end of input")
			}
		}
		return s.String(), nil
	}
	isDigit := func(i int) (bool, int) { c := at(i); return c >= '0' && c <= '9', 1 }
	isWord := func(i int) (bool, int) {
		c := at(i)
		return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_', 1
	}
	last := func() (tokenType, bool) {
		if len(toks) == 0 {
			return 0, false
		}
		return toks[len(toks)-1].typ, true
	}
	stripTrailing := func() {
		if len(toks) > 0 && toks[len(toks)-1].typ == tText {
			v := jsTrimEnd(toks[len(toks)-1].val)
			if v == "" {
				toks = toks[:len(toks)-1]
			} else {
				toks[len(toks)-1].val = v
			}
		}
	}
	skipLeading := func() {
		for {
			ok, size := isSpaceAt(pos)
			if !ok {
				return
			}
			pos += size
		}
	}

main:
	for pos < n {
		at0 = pos
		if lt, ok := last(); !ok || lt == tCloseStatement || lt == tCloseExpression || lt == tComment {
			start := pos
			for pos < n && !(src[pos] == '{' && (at(pos+1) == '%' || at(pos+1) == '{' || at(pos+1) == '#')) {
				pos++
			}
			if pos > start {
				toks = append(toks, token{tText, src[start:pos], start})
				continue
			}
		}
		if src[pos] == '{' && at(pos+1) == '#' {
			pos += 2
			stripBefore := at(pos) == '-'
			if stripBefore {
				pos++
			}
			start := pos
			for at(pos) != '#' || at(pos+1) != '}' {
				if pos+2 >= n {
					return nil, "", errf("missing end of comment tag")
				}
				pos++
			}
			comment := src[start:pos]
			stripAfter := strings.HasSuffix(comment, "-")
			if stripAfter {
				comment = comment[:len(comment)-1]
			}
			if stripBefore {
				stripTrailing()
			}
			toks = append(toks, token{tComment, comment, at0})
			pos += 2
			if stripAfter {
				skipLeading()
			}
			continue
		}
		if strings.HasPrefix(src[pos:], "{%-") {
			stripTrailing()
			toks = append(toks, token{tOpenStatement, "{%", at0})
			pos += 3
			continue
		}
		if strings.HasPrefix(src[pos:], "{{-") {
			stripTrailing()
			toks = append(toks, token{tOpenExpression, "{{", at0})
			curly = 0
			pos += 3
			continue
		}
		if _, err := consumeWhile(isSpaceAt); err != nil {
			return nil, "", err
		}
		at0 = pos
		if strings.HasPrefix(src[pos:], "-%}") {
			toks = append(toks, token{tCloseStatement, "%}", at0})
			pos += 3
			skipLeading()
			continue
		}
		if strings.HasPrefix(src[pos:], "-}}") {
			toks = append(toks, token{tCloseExpression, "}}", at0})
			pos += 3
			skipLeading()
			continue
		}
		if pos >= n {
			break
		}
		c := src[pos]
		if c == '-' || c == '+' {
			lt, ok := last()
			if !ok || lt == tText {
				return nil, "", errf("unexpected character: %c", c)
			}
			switch lt {
			case tIdent, tNumber, tString, tCloseParen, tCloseSquare:
			default:
				pos++
				num, err := consumeWhile(isDigit)
				if err != nil {
					return nil, "", err
				}
				if num != "" && at(pos) == '.' {
					if ok, _ := isDigit(pos + 1); ok {
						pos++
						frac, err := consumeWhile(isDigit)
						if err != nil {
							return nil, "", err
						}
						num += "." + frac
					}
				}
				if num != "" {
					toks = append(toks, token{tNumber, string(c) + num, at0})
				} else {
					toks = append(toks, token{tUnary, string(c), at0})
				}
				continue
			}
		}
		for _, m := range orderedMapping {
			if m.seq == "}}" && curly > 0 {
				continue
			}
			if strings.HasPrefix(src[pos:], m.seq) {
				toks = append(toks, token{m.typ, m.seq, at0})
				switch m.typ {
				case tOpenExpression:
					curly = 0
				case tOpenCurly:
					curly++
				case tCloseCurly:
					curly--
				}
				pos += len(m.seq)
				continue main
			}
		}
		if c == '\'' || c == '"' {
			pos++
			s, err := consumeWhile(func(i int) (bool, int) {
				if i >= n {
					return false, 0
				}
				_, size := utf8.DecodeRuneInString(src[i:])
				return src[i] != c, size
			})
			if err != nil {
				return nil, "", err
			}
			if pos >= n {
				return nil, "", errf("unexpected end of input in a string literal")
			}
			toks = append(toks, token{tString, s, at0})
			pos++
			continue
		}
		if ok, _ := isDigit(pos); ok {
			num, err := consumeWhile(isDigit)
			if err != nil {
				return nil, "", err
			}
			if lt, _ := last(); lt != tDot && at(pos) == '.' {
				if ok, _ := isDigit(pos + 1); ok {
					pos++
					frac, err := consumeWhile(isDigit)
					if err != nil {
						return nil, "", err
					}
					num += "." + frac
				}
			}
			toks = append(toks, token{tNumber, num, at0})
			continue
		}
		if ok, _ := isWord(pos); ok {
			w, err := consumeWhile(isWord)
			if err != nil {
				return nil, "", err
			}
			toks = append(toks, token{tIdent, w, at0})
			continue
		}
		r, _ := utf8.DecodeRuneInString(src[pos:])
		return nil, "", errf("unexpected character: %q", r)
	}
	return toks, src, nil
}
