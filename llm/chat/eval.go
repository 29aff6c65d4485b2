package chat

import (
	"fmt"
	"strings"
)

// This file is the interpreter, a port of @huggingface/jinja 0.5.11's Interpreter.

// runError is raised with panic while rendering and recovered by Template.Render.
type runError struct{ msg string }

func (e *runError) Error() string { return e.msg }

func runErrorf(format string, args ...any) *runError {
	return &runError{fmt.Sprintf(format, args...)}
}

// loopControl carries break and continue to the enclosing for loop.
type loopControl struct{ brk bool }

// env is one scope. Every scope of @huggingface/jinja defines its own "namespace", so a
// template's own variable of that name is seen only in the scope that set it.
type env struct {
	vars   map[string]value
	parent *env
}

func newEnv(parent *env) *env { return &env{parent: parent} }

func (e *env) setVar(name string, v value) {
	if e.vars == nil {
		e.vars = make(map[string]value, 4)
	}
	e.vars[name] = v
}

func (e *env) lookup(name string) value {
	if name == "namespace" {
		if v, ok := e.vars[name]; ok {
			return v
		}
		return namespaceFunc
	}
	for s := e; s != nil; s = s.parent {
		if v, ok := s.vars[name]; ok {
			return v
		}
	}
	return undefined
}

// renderer holds what one rendering needs beyond its scopes.
type renderer struct {
	t     *Template
	depth int // macro calls in progress
	steps int // loop iterations so far
}

// Limits that turn a runaway template into an error instead of a hung or exhausted
// process: chat templates take a few hundred loop iterations and render kilobytes.
var (
	maxSteps  = 1_000_000 // loop iterations (and filtered items) in one rendering
	maxString = 64 << 20  // bytes in one string made by + or ~
)

func (r *renderer) step() {
	r.steps++
	if r.steps > maxSteps {
		panic(runErrorf("rendering takes more than %d loop iterations", maxSteps))
	}
}

func concat(a, b string) string {
	if len(a)+len(b) > maxString {
		panic(runErrorf("string of more than %d bytes", maxString))
	}
	return a + b
}

func (r *renderer) block(stmts []node, e *env, b *outBuf) {
	for _, s := range stmts {
		r.exec(s, e, b)
	}
}

func (r *renderer) blockString(stmts []node, e *env) string {
	var b outBuf
	r.block(stmts, e, &b)
	return b.String()
}

// exec evaluates one statement or expression and writes what it renders to b.
func (r *renderer) exec(s node, e *env, b *outBuf) {
	switch n := s.(type) {
	case *strLit:
		b.WriteString(n.v)
	case *ifNode:
		if truthy(r.eval(n.test, e)) {
			r.block(n.body, e, b)
		} else {
			r.block(n.alt, e, b)
		}
	case *forNode:
		r.execFor(n, e, b)
	case *setNode:
		r.execSet(n, e)
	case *macroNode:
		r.defineMacro(n, e)
	case *commentNode:
	case *breakNode:
		panic(loopControl{brk: true})
	case *continueNode:
		panic(loopControl{brk: false})
	case *callStmt:
		writeValue(b, r.execCall(n, e))
	case *filterStmt:
		writeValue(b, r.applyFilter(r.blockString(n.body, e), n.filter, e))
	case *binaryExpr:
		if n.op == "+" {
			r.writeSum(n, e, b)
		} else {
			writeValue(b, r.eval(s, e))
		}
	default:
		writeValue(b, r.eval(s, e))
	}
}

// writeSum writes a + b + c ... without building the intermediate strings: once the
// running sum is a string, each further operand is appended as its string. It evaluates
// and fails exactly as evalBinary would.
func (r *renderer) writeSum(n *binaryExpr, e *env, b *outBuf) {
	var spine []*binaryExpr // outermost first
	for x := n; ; {
		spine = append(spine, x)
		l, ok := x.left.(*binaryExpr)
		if !ok || l.op != "+" {
			break
		}
		x = l
	}
	acc := r.eval(spine[len(spine)-1].left, e)
	streaming := false
	for i := len(spine) - 1; i >= 0; i-- {
		right := r.eval(spine[i].right, e)
		if streaming {
			if isNullish(right) {
				binop(spine[i], "", right) // fails as the JavaScript does
			}
			b.WriteString(rawString(right))
			continue
		}
		acc = binop(spine[i], acc, right)
		if s, ok := acc.(string); ok {
			b.WriteString(s)
			streaming = true
		}
	}
	if !streaming {
		writeValue(b, acc)
	}
}

func writeValue(b *outBuf, v value) {
	switch x := v.(type) {
	case undefinedT, nullT:
	case string:
		b.WriteString(x)
	default:
		b.WriteString(toOutput(v))
	}
}

func (r *renderer) execSet(n *setNode, e *env) {
	var rhs value
	if f, ok := n.value.(*filterExpr); ok {
		// The JavaScript stores the undefined that first or last of an empty list returns,
		// and reads it back as an undefined variable; anywhere else it fails.
		rhs = r.applyFilter(r.eval(f.operand, e), f.filter, e)
		if rhs == nil {
			rhs = undefined
		}
	} else if n.value != nil {
		rhs = r.eval(n.value, e)
	} else {
		rhs = r.blockString(n.body, e)
	}
	switch a := n.assignee.(type) {
	case *ident:
		e.setVar(a.name, rhs)
	case *tupleLit:
		arr, ok := rhs.(*arrayV)
		if !ok {
			panic(runErrorf("cannot unpack non-iterable type in set: %s", typeName(rhs)))
		}
		if len(arr.items) != len(a.items) {
			panic(runErrorf("wrong number of items to unpack in set: %d names, %d values", len(a.items), len(arr.items)))
		}
		for i, it := range a.items {
			id, ok := it.(*ident)
			if !ok {
				panic(runErrorf("cannot unpack to a non-identifier in set"))
			}
			e.setVar(id.name, arr.items[i])
		}
	case *memberExpr:
		obj, ok := r.eval(a.obj, e).(*objectV)
		if !ok || obj.kind != objNamespace {
			panic(runErrorf("cannot assign an attribute of a non-namespace object"))
		}
		id, ok := a.prop.(*ident)
		if !ok || a.computed {
			panic(runErrorf("cannot assign to a member with a non-identifier property"))
		}
		obj.set(id.name, rhs)
	default:
		panic(runErrorf("invalid left-hand side in set"))
	}
}

func (r *renderer) execFor(n *forNode, e *env, b *outBuf) {
	scope := newEnv(e)
	iterNode, test := n.iterable, node(nil)
	if sel, ok := n.iterable.(*selectExpr); ok {
		iterNode, test = sel.lhs, sel.test
	}
	var items []value
	switch it := r.eval(iterNode, scope).(type) {
	case *arrayV:
		items = it.items
	case *objectV:
		if !it.isMapping() {
			panic(runErrorf("expected a list or dict in for loop, got %s", typeName(it)))
		}
		items = make([]value, len(it.keys))
		for i, k := range it.keys {
			items[i] = k
		}
	default:
		panic(runErrorf("expected a list or dict in for loop, got %s", typeName(it)))
	}
	bind := func(s *env, cur value) {
		switch lv := n.loopvar.(type) {
		case *ident:
			s.setVar(lv.name, cur)
		case *tupleLit:
			arr, ok := cur.(*arrayV)
			if !ok || arr.tuple {
				panic(runErrorf("cannot unpack non-iterable type: %s", typeName(cur)))
			}
			if len(arr.items) != len(lv.items) {
				panic(runErrorf("wrong number of items to unpack: %d names, %d values", len(lv.items), len(arr.items)))
			}
			for j, x := range lv.items {
				id, ok := x.(*ident)
				if !ok {
					panic(runErrorf("cannot unpack to a non-identifier"))
				}
				s.setVar(id.name, arr.items[j])
			}
		}
	}
	if test != nil {
		kept := make([]value, 0, len(items))
		for _, cur := range items {
			r.step()
			ls := newEnv(scope)
			bind(ls, cur)
			if truthy(r.eval(test, ls)) {
				kept = append(kept, cur)
			}
		}
		items = kept
	}
	ran := false
	for i, cur := range items {
		r.step()
		loop := newObject(objPlain, 9)
		loop.set("index", int64(i+1))
		loop.set("index0", int64(i))
		loop.set("revindex", int64(len(items)-i))
		loop.set("revindex0", int64(len(items)-i-1))
		loop.set("first", i == 0)
		loop.set("last", i == len(items)-1)
		loop.set("length", int64(len(items)))
		if i > 0 {
			loop.set("previtem", items[i-1])
		} else {
			loop.set("previtem", undefined)
		}
		if i < len(items)-1 {
			loop.set("nextitem", items[i+1])
		} else {
			loop.set("nextitem", undefined)
		}
		scope.setVar("loop", loop)
		bind(scope, cur)
		ctl := r.loopBody(n.body, scope, b)
		if ctl == ctlBreak {
			break
		}
		if ctl == ctlContinue {
			continue
		}
		ran = true
	}
	if !ran {
		r.block(n.dflt, scope, b)
	}
}

const (
	ctlNone = iota
	ctlBreak
	ctlContinue
)

// loopBody runs one iteration. Like the JavaScript, output of an iteration cut short by
// break or continue is dropped.
func (r *renderer) loopBody(body []node, scope *env, b *outBuf) (ctl int) {
	start := len(b.buf)
	defer func() {
		if x := recover(); x != nil {
			lc, ok := x.(loopControl)
			if !ok {
				panic(x)
			}
			b.buf = b.buf[:start]
			if lc.brk {
				ctl = ctlBreak
			} else {
				ctl = ctlContinue
			}
		}
	}()
	r.block(body, scope, b)
	return ctlNone
}

// outBuf collects rendered text; unlike a strings.Builder it can drop what an
// iteration wrote when break or continue cuts the iteration short.
type outBuf struct{ buf []byte }

func (o *outBuf) WriteString(s string) { o.buf = append(o.buf, s...) }
func (o *outBuf) String() string       { return string(o.buf) }

// eval evaluates an expression.
func (r *renderer) eval(x node, e *env) value {
	switch n := x.(type) {
	case nil:
		return undefined
	case *strLit:
		return n.v
	case *intLit:
		return n.v
	case *floatLit:
		return n.v
	case *ident:
		return e.lookup(n.name)
	case *arrayLit:
		items := make([]value, len(n.items))
		for i, it := range n.items {
			items[i] = r.eval(it, e)
		}
		return &arrayV{items: items}
	case *tupleLit:
		items := make([]value, len(n.items))
		for i, it := range n.items {
			items[i] = r.eval(it, e)
		}
		return &arrayV{items: items, tuple: true}
	case *objectLit:
		o := newObject(objPlain, len(n.keys))
		for i, k := range n.keys {
			kv := r.eval(k, e)
			ks, ok := kv.(string)
			if !ok {
				panic(runErrorf("dict keys must be strings, got %s", typeName(kv)))
			}
			o.set(ks, r.eval(n.vals[i], e))
		}
		return o
	case *memberExpr:
		return r.evalMember(n, e)
	case *callExpr:
		args := r.evalArgs(n.args, e, true)
		fn, ok := r.eval(n.callee, e).(*funcV)
		if !ok {
			panic(runErrorf("cannot call something that is not a function: %s", describe(n.callee)))
		}
		return fn.fn(r, args, e)
	case *unaryExpr:
		return r.evalUnary(n, e)
	case *binaryExpr:
		return r.evalBinary(n, e)
	case *filterExpr:
		v := r.applyFilter(r.eval(n.operand, e), n.filter, e)
		if v == nil {
			panic(runErrorf("%s of an empty list", describe(n.filter)))
		}
		return v
	case *testExpr:
		operand := r.eval(n.operand, e)
		test, ok := tests[n.test]
		if !ok {
			panic(runErrorf("unknown test: %s", n.test))
		}
		return test(operand, undefined) != n.negate
	case *selectExpr:
		if !truthy(r.eval(n.test, e)) {
			return undefined
		}
		return r.eval(n.lhs, e)
	case *ternary:
		if truthy(r.eval(n.cond, e)) {
			return r.eval(n.t, e)
		}
		return r.eval(n.f, e)
	case *sliceExpr, *kwargExpr, *spreadExpr, *kwSpreadExpr:
		panic(runErrorf("unexpected %T outside a call or index", n))
	}
	// Statements used as values (a set inside an expression cannot be written, but the
	// JavaScript evaluates statements and expressions alike).
	var b outBuf
	r.exec(x, e, &b)
	return b.String()
}

// describe names an expression for error messages.
func describe(x node) string {
	switch n := x.(type) {
	case *ident:
		return n.name
	case *memberExpr:
		if id, ok := n.prop.(*ident); ok && !n.computed {
			return describe(n.obj) + "." + id.name
		}
		return describe(n.obj) + "[...]"
	}
	return fmt.Sprintf("%T", x)
}

// evalArgs evaluates call arguments; keyword arguments come last as one objKwargs object
// (only when there are any, if kwargsLast).
func (r *renderer) evalArgs(args []node, e *env, kwargsLast bool) []value {
	pos, kw := r.evalArgsSplit(args, e)
	if kwargsLast && len(kw.keys) > 0 {
		pos = append(pos, kw)
	}
	return pos
}

func (r *renderer) evalArgsSplit(args []node, e *env) ([]value, *objectV) {
	var pos []value
	kw := newObject(objKwargs, 0)
	for _, a := range args {
		switch n := a.(type) {
		case *spreadExpr:
			v, ok := r.eval(n.arg, e).(*arrayV)
			if !ok {
				panic(runErrorf("cannot unpack a non-list with *"))
			}
			pos = append(pos, v.items...)
		case *kwargExpr, *kwSpreadExpr:
		default:
			pos = append(pos, r.eval(a, e))
		}
	}
	add := func(k string, v value) {
		if _, dup := kw.get(k); dup {
			panic(runErrorf("got multiple values for keyword argument %q", k))
		}
		kw.set(k, v)
	}
	for _, a := range args {
		switch n := a.(type) {
		case *kwargExpr:
			add(n.key, r.eval(n.val, e))
		case *kwSpreadExpr:
			o, ok := r.eval(n.arg, e).(*objectV)
			if !ok || !o.isMapping() {
				panic(runErrorf("argument after ** must be a mapping"))
			}
			for i, k := range o.keys {
				add(k, o.vals[i])
			}
		}
	}
	return pos, kw
}

func (r *renderer) evalMember(n *memberExpr, e *env) value {
	obj := r.eval(n.obj, e)
	var prop value
	if n.computed {
		if sl, ok := n.prop.(*sliceExpr); ok {
			return r.evalSlice(obj, sl, e)
		}
		prop = r.eval(n.prop, e)
	} else if il, ok := n.prop.(*intLit); ok {
		prop = il.v
	} else {
		prop = n.prop.(*ident).name
	}
	var v value
	switch o := obj.(type) {
	case *objectV:
		k, ok := prop.(string)
		if !ok {
			panic(runErrorf("cannot access a property with a non-string: %s", typeName(prop)))
		}
		if x, ok := o.get(k); ok {
			v = x
		} else if o.isMapping() {
			v = objectBuiltin(o, k)
		}
	case *arrayV, string:
		switch p := prop.(type) {
		case int64:
			if s, ok := o.(string); ok {
				if c, ok := utf16At(s, int(p)); ok {
					v = c
				}
			} else {
				items := o.(*arrayV).items
				i := int(p)
				if i < 0 {
					i += len(items)
				}
				if i >= 0 && i < len(items) {
					v = items[i]
				}
			}
		case string:
			if s, ok := o.(string); ok {
				v = stringBuiltin(s, p)
			} else if p == "length" {
				v = int64(len(o.(*arrayV).items))
			}
		default:
			panic(runErrorf("cannot access a property with %s", typeName(prop)))
		}
	default:
		if _, ok := prop.(string); !ok {
			panic(runErrorf("cannot access a property with a non-string: %s", typeName(prop)))
		}
	}
	if v == nil {
		return undefined
	}
	return v
}

func (r *renderer) evalSlice(obj value, sl *sliceExpr, e *env) value {
	bound := func(x node, what string) *int {
		switch v := r.eval(x, e).(type) {
		case undefinedT:
			return nil
		case int64:
			i := int(v)
			return &i
		default:
			panic(runErrorf("slice %s must be an integer or missing, got %s", what, typeName(v)))
		}
	}
	start, stop, step := bound(sl.start, "start"), bound(sl.stop, "stop"), bound(sl.step, "step")
	switch o := obj.(type) {
	case *arrayV:
		idx := sliceIndices(len(o.items), start, stop, step)
		out := make([]value, len(idx))
		for i, j := range idx {
			out[i] = o.items[j]
		}
		return &arrayV{items: out}
	case string:
		rs := []rune(o)
		idx := sliceIndices(len(rs), start, stop, step)
		out := make([]rune, len(idx))
		for i, j := range idx {
			out[i] = rs[j]
		}
		return string(out)
	}
	panic(runErrorf("slice object must be a list or string, got %s", typeName(obj)))
}

// sliceIndices is the utils.ts slice: Python slice semantics.
func sliceIndices(n int, startP, stopP, stepP *int) []int {
	step := 1
	if stepP != nil {
		step = *stepP
	}
	if step == 0 {
		return nil // the JavaScript loops forever; an empty result is kinder
	}
	var start, stop int
	if step > 0 {
		start, stop = 0, n
		if startP != nil {
			start = *startP
			if start < 0 {
				start = max(n+start, 0)
			} else {
				start = min(start, n)
			}
		}
		if stopP != nil {
			stop = *stopP
			if stop < 0 {
				stop = max(n+stop, 0)
			} else {
				stop = min(stop, n)
			}
		}
	} else {
		start, stop = n-1, -1
		if startP != nil {
			start = *startP
			if start < 0 {
				start = max(n+start, -1)
			} else {
				start = min(start, n-1)
			}
		}
		if stopP != nil {
			stop = *stopP
			if stop < -1 {
				stop = max(n+stop, -1)
			} else {
				stop = min(stop, n-1)
			}
		}
	}
	var out []int
	dir := 1
	if step < 0 {
		dir = -1
	}
	for i := start; dir*i < dir*stop; i += step {
		out = append(out, i)
	}
	return out
}

func (r *renderer) evalUnary(n *unaryExpr, e *env) value {
	arg := r.eval(n.arg, e)
	switch n.op {
	case "not":
		return !truthy(arg)
	case "+", "-":
		switch v := arg.(type) {
		case int64:
			if n.op == "-" {
				return -v
			}
			return v
		case float64:
			if n.op == "-" {
				return -v
			}
			return v
		case bool:
			var i int64
			if v {
				i = 1
			}
			if n.op == "-" {
				return -i
			}
			return i
		}
		panic(runErrorf("unknown operator %q for %s", n.op, typeName(arg)))
	}
	panic(runErrorf("unknown operator %q", n.op))
}

func (r *renderer) evalBinary(n *binaryExpr, e *env) value {
	left := r.eval(n.left, e)
	switch n.op {
	case "and":
		if truthy(left) {
			return r.eval(n.right, e)
		}
		return left
	case "or":
		if truthy(left) {
			return left
		}
		return r.eval(n.right, e)
	}
	return binop(n, left, r.eval(n.right, e))
}

// binop applies a binary operator other than and/or to evaluated operands.
func binop(n *binaryExpr, left, right value) value {
	switch n.op {
	case "==":
		return looseEqual(left, right)
	case "!=":
		return !looseEqual(left, right)
	}
	_, lu := left.(undefinedT)
	_, ru := right.(undefinedT)
	_, ln := left.(nullT)
	_, rn := right.(nullT)
	switch {
	case lu || ru:
		if ru && (n.op == "in" || n.op == "not in") {
			return n.op == "not in"
		}
		panic(runErrorf("cannot perform operation %s on undefined values (%s %s %s)", n.op, describe(n.left), n.op, describe(n.right)))
	case ln || rn:
		panic(runErrorf("cannot perform operation %s on none values (%s %s %s)", n.op, describe(n.left), n.op, describe(n.right)))
	case n.op == "~":
		return concat(rawString(left), rawString(right))
	}
	if n.op == "**" {
		if a, ok := numeric(left); ok {
			if b, ok := numeric(right); ok {
				return power(left, right, a, b)
			}
		}
	}
	_, lInt := left.(int64)
	_, lFloat := left.(float64)
	_, rInt := right.(int64)
	_, rFloat := right.(float64)
	if (lInt || lFloat) && (rInt || rFloat) {
		if v, ok := arith(n.op, left, right, lFloat || rFloat); ok {
			return v
		}
	} else if la, ok := left.(*arrayV); ok && isArray(right) {
		if n.op == "+" {
			items := append(append([]value(nil), la.items...), right.(*arrayV).items...)
			return &arrayV{items: items}
		}
	} else if ra, ok := right.(*arrayV); ok {
		member := false
		for _, x := range ra.items {
			if strictEqual(x, left) {
				member = true
				break
			}
		}
		switch n.op {
		case "in":
			return member
		case "not in":
			return !member
		}
	}
	ls, lStr := left.(string)
	rs, rStr := right.(string)
	if (lStr || rStr) && n.op == "+" {
		return concat(rawString(left), rawString(right))
	}
	if lStr && rStr {
		switch n.op {
		case "in":
			return strings.Contains(rs, ls)
		case "not in":
			return !strings.Contains(rs, ls)
		}
	}
	if ro, ok := right.(*objectV); ok && lStr && ro.isMapping() {
		_, has := ro.get(ls)
		switch n.op {
		case "in":
			return has
		case "not in":
			return !has
		}
	}
	panic(runErrorf("unknown operator %q between %s and %s", n.op, typeName(left), typeName(right)))
}

func isArray(v value) bool { _, ok := v.(*arrayV); return ok }
