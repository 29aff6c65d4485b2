package chat

import (
	"fmt"
	"strconv"
	"strings"
)

// This file is the parser, a port of @huggingface/jinja 0.5.11's src/parser.ts, keeping
// its precedence (lowest first): if-else, or, and, not, comparison and in, + - ~,
// * / // %, **, is, |, unary sign, call and member access.

type parser struct {
	toks []token
	cur  int
	src  string // the preprocessed template the tokens point into
}

// parseError is raised with panic inside the parser and recovered by parse.
type parseError struct{ msg string }

func (p *parser) fail(format string, args ...any) {
	pos := len(p.src)
	if p.cur < len(p.toks) {
		pos = p.toks[p.cur].pos
	} else if p.cur > 0 && len(p.toks) > 0 {
		pos = p.toks[len(p.toks)-1].pos
	}
	panic(&parseError{fmt.Sprintf(format, args...) + near(p.src, pos)})
}

// parse builds the syntax tree of a template's tokens.
func parse(toks []token, src string) (body []node, err error) {
	p := &parser{toks: toks, src: src}
	defer func() {
		if r := recover(); r != nil {
			pe, ok := r.(*parseError)
			if !ok {
				panic(r)
			}
			body, err = nil, fmt.Errorf("%s", pe.msg)
		}
	}()
	for p.cur < len(p.toks) {
		body = append(body, p.parseAny())
	}
	return body, nil
}

func (p *parser) peek(off int) *token {
	if p.cur+off < len(p.toks) {
		return &p.toks[p.cur+off]
	}
	return nil
}

func (p *parser) next() token {
	t := p.peek(0)
	if t == nil {
		p.fail("unexpected end of template")
	}
	p.cur++
	return *t
}

func (p *parser) expect(typ tokenType, what string) token {
	t := p.peek(0)
	if t == nil {
		p.fail("%s, got the end of the template", what)
	}
	if t.typ != typ {
		p.fail("%s, got %s %q", what, t.typ, t.val)
	}
	p.cur++
	return *t
}

func (p *parser) is(types ...tokenType) bool {
	if p.cur+len(types) > len(p.toks) {
		return false
	}
	for i, typ := range types {
		if p.toks[p.cur+i].typ != typ {
			return false
		}
	}
	return true
}

func (p *parser) isIdent(names ...string) bool {
	if p.cur+len(names) > len(p.toks) {
		return false
	}
	for i, name := range names {
		t := p.toks[p.cur+i]
		if t.typ != tIdent || t.val != name {
			return false
		}
	}
	return true
}

func (p *parser) isStatement(names ...string) bool {
	t0, t1 := p.peek(0), p.peek(1)
	if t0 == nil {
		p.fail("unexpected end of template: a block is not closed")
	}
	if t0.typ != tOpenStatement || t1 == nil || t1.typ != tIdent {
		return false
	}
	for _, n := range names {
		if t1.val == n {
			return true
		}
	}
	return false
}

func (p *parser) expectIdent(name string) {
	if !p.isIdent(name) {
		p.fail("expected %s", name)
	}
	p.cur++
}

func (p *parser) parseAny() node {
	t := p.peek(0)
	switch t.typ {
	case tComment:
		p.cur++
		return &commentNode{}
	case tText:
		p.cur++
		return &strLit{t.val}
	case tOpenStatement:
		return p.parseStatement()
	case tOpenExpression:
		p.cur++
		e := p.parseExpression()
		p.expect(tCloseExpression, "expected }}")
		return e
	}
	p.fail("unexpected token %s %q", t.typ, t.val)
	return nil
}

func (p *parser) endBlock(name string) {
	p.expect(tOpenStatement, "expected {% "+name+" %}")
	p.expectIdent(name)
	p.expect(tCloseStatement, "expected %} after "+name)
}

func (p *parser) parseStatement() node {
	p.expect(tOpenStatement, "expected {%")
	t := p.peek(0)
	if t == nil || t.typ != tIdent {
		p.fail("expected a statement name after {%%")
	}
	switch t.val {
	case "set":
		p.cur++
		return p.parseSet()
	case "if":
		p.cur++
		n := p.parseIf()
		p.endBlock("endif")
		return n
	case "macro":
		p.cur++
		name, ok := p.parsePrimary().(*ident)
		if !ok {
			p.fail("expected an identifier after macro")
		}
		args := p.parseArgs(true)
		p.expect(tCloseStatement, "expected %} after the macro's parameters")
		var body []node
		for !p.isStatement("endmacro") {
			body = append(body, p.parseAny())
		}
		p.endBlock("endmacro")
		return &macroNode{name.name, args, body}
	case "for":
		p.cur++
		n := p.parseFor()
		p.endBlock("endfor")
		return n
	case "call":
		p.cur++
		var callerArgs []node
		if p.is(tOpenParen) {
			callerArgs = p.parseArgs(true)
		}
		callee, ok := p.parsePrimary().(*ident)
		if !ok {
			p.fail("expected an identifier after call")
		}
		args := p.parseArgs(false)
		p.expect(tCloseStatement, "expected %} after call")
		var body []node
		for !p.isStatement("endcall") {
			body = append(body, p.parseAny())
		}
		p.endBlock("endcall")
		return &callStmt{&callExpr{callee, args}, callerArgs, body}
	case "break":
		p.cur++
		p.expect(tCloseStatement, "expected %} after break")
		return &breakNode{}
	case "continue":
		p.cur++
		p.expect(tCloseStatement, "expected %} after continue")
		return &continueNode{}
	case "filter":
		p.cur++
		f := p.parsePrimary()
		if id, ok := f.(*ident); ok && p.is(tOpenParen) {
			f = p.parseCall(id)
		}
		p.expect(tCloseStatement, "expected %} after filter")
		var body []node
		for !p.isStatement("endfilter") {
			body = append(body, p.parseAny())
		}
		p.endBlock("endfilter")
		return &filterStmt{f, body}
	}
	p.fail("unknown statement %q", t.val)
	return nil
}

func (p *parser) parseSet() node {
	left := p.parseSequence(false)
	if p.is(tEquals) {
		p.cur++
		v := p.parseSequence(false)
		p.expect(tCloseStatement, "expected %} after set")
		return &setNode{assignee: left, value: v}
	}
	p.expect(tCloseStatement, "expected = or %} in set")
	var body []node
	for !p.isStatement("endset") {
		body = append(body, p.parseAny())
	}
	p.endBlock("endset")
	return &setNode{assignee: left, body: body}
}

func (p *parser) parseIf() *ifNode {
	test := p.parseExpression()
	p.expect(tCloseStatement, "expected %} after if")
	n := &ifNode{test: test}
	for !p.isStatement("elif", "else", "endif") {
		n.body = append(n.body, p.parseAny())
	}
	if p.isStatement("elif") {
		p.cur += 2
		n.alt = []node{p.parseIf()}
	} else if p.isStatement("else") {
		p.cur += 2
		p.expect(tCloseStatement, "expected %} after else")
		for !p.isStatement("endif") {
			n.alt = append(n.alt, p.parseAny())
		}
	}
	return n
}

func (p *parser) parseSequence(primary bool) node {
	fn := p.parseExpression
	if primary {
		fn = p.parsePrimary
	}
	first := fn()
	if !p.is(tComma) {
		return first
	}
	items := []node{first}
	for {
		p.cur++
		items = append(items, fn())
		if !p.is(tComma) {
			break
		}
	}
	return &tupleLit{items}
}

func (p *parser) parseFor() node {
	lv := p.parseSequence(true)
	switch lv.(type) {
	case *ident, *tupleLit:
	default:
		p.fail("expected an identifier or tuple for the loop variable")
	}
	if !p.isIdent("in") {
		p.fail("expected in after the loop variable")
	}
	p.cur++
	it := p.parseExpression()
	p.expect(tCloseStatement, "expected %} after for")
	n := &forNode{loopvar: lv, iterable: it}
	for !p.isStatement("endfor", "else") {
		n.body = append(n.body, p.parseAny())
	}
	if p.isStatement("else") {
		p.cur += 2
		p.expect(tCloseStatement, "expected %} after else")
		for !p.isStatement("endfor") {
			n.dflt = append(n.dflt, p.parseAny())
		}
	}
	return n
}

func (p *parser) parseExpression() node { return p.parseIfExpr() }

func (p *parser) parseIfExpr() node {
	a := p.parseOr()
	if p.isIdent("if") {
		p.cur++
		test := p.parseOr()
		if p.isIdent("else") {
			p.cur++
			return &ternary{test, a, p.parseIfExpr()}
		}
		return &selectExpr{a, test}
	}
	return a
}

func (p *parser) parseOr() node {
	left := p.parseAnd()
	for p.isIdent("or") {
		p.cur++
		left = &binaryExpr{"or", left, p.parseAnd()}
	}
	return left
}

func (p *parser) parseAnd() node {
	left := p.parseNot()
	for p.isIdent("and") {
		p.cur++
		left = &binaryExpr{"and", left, p.parseNot()}
	}
	return left
}

func (p *parser) parseNot() node {
	var right node
	for p.isIdent("not") {
		p.cur++
		right = &unaryExpr{"not", p.parseNot()}
	}
	if right != nil {
		return right
	}
	return p.parseComparison()
}

func (p *parser) parseComparison() node {
	left := p.parseAdditive()
	for {
		var op string
		switch {
		case p.isIdent("not", "in"):
			op = "not in"
			p.cur += 2
		case p.isIdent("in"):
			op = "in"
			p.cur++
		case p.is(tComparison):
			op = p.next().val
		default:
			return left
		}
		left = &binaryExpr{op, left, p.parseAdditive()}
	}
}

func (p *parser) parseAdditive() node {
	left := p.parseMultiplicative()
	for p.is(tAdditive) {
		op := p.next().val
		left = &binaryExpr{op, left, p.parseMultiplicative()}
	}
	return left
}

func (p *parser) parseMultiplicative() node {
	left := p.parsePower()
	for p.is(tMultiplicative) {
		op := p.next().val
		left = &binaryExpr{op, left, p.parsePower()}
	}
	return left
}

func (p *parser) parsePower() node {
	left := p.parseTest()
	for p.is(tExponent) {
		op := p.next().val
		left = &binaryExpr{op, left, p.parseTest()}
	}
	return left
}

func (p *parser) parseTest() node {
	operand := p.parseFilter()
	for p.isIdent("is") {
		p.cur++
		negate := p.isIdent("not")
		if negate {
			p.cur++
		}
		t, ok := p.parsePrimary().(*ident)
		if !ok {
			p.fail("expected the name of a test after is")
		}
		operand = &testExpr{operand, negate, t.name}
	}
	return operand
}

func (p *parser) parseFilter() node {
	operand := p.parseUnarySign()
	for p.is(tPipe) {
		p.cur++
		id, ok := p.parsePrimary().(*ident)
		if !ok {
			p.fail("expected the name of a filter after |")
		}
		var f node = id
		if p.is(tOpenParen) {
			f = p.parseCall(id)
		}
		operand = &filterExpr{operand, f}
	}
	return operand
}

func (p *parser) parseUnarySign() node {
	if t := p.peek(0); t != nil && (t.typ == tUnary || t.typ == tAdditive) && (t.val == "-" || t.val == "+") {
		p.cur++
		return &unaryExpr{t.val, p.parseUnarySign()}
	}
	m := p.parseMember(p.parsePrimary())
	if p.is(tOpenParen) {
		return p.parseCall(m)
	}
	return m
}

func (p *parser) parseCall(callee node) node {
	var e node = &callExpr{callee, p.parseArgs(false)}
	e = p.parseMember(e)
	if p.is(tOpenParen) {
		e = p.parseCall(e)
	}
	return e
}

// parseArgs reads a parenthesised argument list (params: a macro's parameter list).
func (p *parser) parseArgs(params bool) []node {
	p.expect(tOpenParen, "expected ( before arguments")
	var args []node
	names := map[string]bool{}
	sawKeyword, sawSpread := false, false
	for !p.is(tCloseParen) {
		if p.peek(0) == nil {
			p.fail("unexpected end of template in an argument list")
		}
		kwSpread := p.is(tExponent)
		posSpread := p.is(tMultiplicative) && p.peek(0).val == "*"
		if params && (kwSpread || posSpread) {
			p.fail("argument unpacking is not allowed in parameter declarations")
		}
		if kwSpread {
			p.cur++
			args = append(args, &kwSpreadExpr{p.parseExpression()})
			if p.is(tComma) {
				p.cur++
			}
			if !p.is(tCloseParen) {
				p.fail("** must be applied to the final argument")
			}
			break
		}
		var arg node
		if posSpread {
			if sawSpread {
				p.fail("only one * argument unpacking is allowed")
			}
			sawSpread = true
			p.cur++
			arg = &spreadExpr{p.parseExpression()}
		} else {
			arg = p.parseExpression()
			if p.is(tEquals) {
				p.cur++
				id, ok := arg.(*ident)
				if !ok {
					p.fail("expected an identifier before = in an argument list")
				}
				arg = &kwargExpr{id.name, p.parseExpression()}
			}
			if params {
				var name string
				switch a := arg.(type) {
				case *ident:
					name = a.name
				case *kwargExpr:
					name = a.key
				default:
					p.fail("expected an identifier for a parameter")
				}
				if names[name] {
					p.fail("duplicate parameter name %s", name)
				}
				names[name] = true
			}
			if _, ok := arg.(*kwargExpr); ok {
				sawKeyword = true
			} else if sawKeyword {
				if params {
					p.fail("non-default argument follows default argument")
				}
				p.fail("positional arguments must come before keyword arguments")
			} else if sawSpread {
				p.fail("positional arguments must not follow * argument unpacking")
			}
		}
		args = append(args, arg)
		if p.is(tComma) {
			p.cur++
		}
	}
	p.cur++ // )
	return args
}

func (p *parser) parseMemberArgs() node {
	var parts []node
	isSlice := false
	for !p.is(tCloseSquare) {
		if p.peek(0) == nil {
			p.fail("unexpected end of template in [ ]")
		}
		if p.is(tColon) {
			parts = append(parts, nil)
			p.cur++
			isSlice = true
		} else {
			parts = append(parts, p.parseExpression())
			if p.is(tColon) {
				p.cur++
				isSlice = true
			}
		}
	}
	if len(parts) == 0 {
		p.fail("expected an index or slice inside [ ]")
	}
	if isSlice {
		if len(parts) > 3 {
			p.fail("a slice takes at most 3 parts")
		}
		s := &sliceExpr{}
		for i, v := range parts {
			switch i {
			case 0:
				s.start = v
			case 1:
				s.stop = v
			case 2:
				s.step = v
			}
		}
		return s
	}
	return parts[0]
}

func (p *parser) parseMember(obj node) node {
	for p.is(tDot) || p.is(tOpenSquare) {
		op := p.next()
		if op.typ == tOpenSquare {
			prop := p.parseMemberArgs()
			p.expect(tCloseSquare, "expected ]")
			obj = &memberExpr{obj, prop, true}
			continue
		}
		prop := p.parsePrimary()
		switch prop.(type) {
		case *ident, *intLit:
		default:
			p.fail("expected an identifier or integer after .")
		}
		obj = &memberExpr{obj, prop, false}
	}
	return obj
}

func (p *parser) parsePrimary() node {
	t := p.next()
	switch t.typ {
	case tNumber:
		if strings.Contains(t.val, ".") {
			f, err := strconv.ParseFloat(t.val, 64)
			if err != nil {
				p.fail("bad number %q", t.val)
			}
			return &floatLit{f}
		}
		i, err := strconv.ParseInt(t.val, 10, 64)
		if err != nil {
			p.fail("integer %s out of range", t.val)
		}
		return &intLit{i}
	case tString:
		v := t.val
		for p.is(tString) {
			v += p.next().val
		}
		return &strLit{v}
	case tIdent:
		return &ident{t.val}
	case tOpenParen:
		e := p.parseSequence(false)
		p.expect(tCloseParen, "expected )")
		return e
	case tOpenSquare:
		var items []node
		for !p.is(tCloseSquare) {
			if p.peek(0) == nil {
				p.fail("unexpected end of template in a list")
			}
			items = append(items, p.parseExpression())
			if p.is(tComma) {
				p.cur++
			}
		}
		p.cur++
		return &arrayLit{items}
	case tOpenCurly:
		o := &objectLit{}
		for !p.is(tCloseCurly) {
			if p.peek(0) == nil {
				p.fail("unexpected end of template in a dict")
			}
			k := p.parseExpression()
			p.expect(tColon, "expected : between key and value in a dict")
			o.keys = append(o.keys, k)
			o.vals = append(o.vals, p.parseExpression())
			if p.is(tComma) {
				p.cur++
			}
		}
		p.cur++
		return o
	}
	p.fail("unexpected token %s %q", t.typ, t.val)
	return nil
}
