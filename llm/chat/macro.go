package chat

// This file holds macros and call blocks, after evaluateMacro, evaluateCallStatement and
// bindMacroArguments in @huggingface/jinja 0.5.11. A macro's scope is a child of the scope
// it is called from, as there.

type param struct {
	name string
	def  node // nil: no default
}

func params(args []node) []param {
	ps := make([]param, len(args))
	for i, a := range args {
		switch n := a.(type) {
		case *ident:
			ps[i] = param{name: n.name}
		case *kwargExpr:
			ps[i] = param{name: n.key, def: n.val}
		}
	}
	return ps
}

// usesSpecial reports whether body reads the variable name (varargs, kwargs) without
// binding it first. Unlike the JavaScript it does not look for bindings, which only
// matters for a macro that both sets and reads a variable named kwargs or varargs.
func usesSpecial(body []node, name string) bool {
	found := false
	var visit func(x node)
	visitAll := func(xs []node) {
		for _, x := range xs {
			visit(x)
		}
	}
	visit = func(x node) {
		if found || x == nil {
			return
		}
		switch n := x.(type) {
		case *ident:
			found = n.name == name
		case *ifNode:
			visit(n.test)
			visitAll(n.body)
			visitAll(n.alt)
		case *forNode:
			visit(n.iterable)
			visitAll(n.body)
			visitAll(n.dflt)
		case *setNode:
			visit(n.value)
			visitAll(n.body)
		case *macroNode:
			for _, a := range n.args {
				if kw, ok := a.(*kwargExpr); ok {
					visit(kw.val)
				}
			}
			visitAll(n.body)
		case *callStmt:
			visit(n.call)
			visitAll(n.body)
		case *filterStmt:
			visitAll(n.body)
			visit(n.filter)
		case *memberExpr:
			visit(n.obj)
			if n.computed {
				visit(n.prop)
			}
		case *callExpr:
			visit(n.callee)
			visitAll(n.args)
		case *arrayLit:
			visitAll(n.items)
		case *tupleLit:
			visitAll(n.items)
		case *objectLit:
			visitAll(n.keys)
			visitAll(n.vals)
		case *binaryExpr:
			visit(n.left)
			visit(n.right)
		case *filterExpr:
			visit(n.operand)
			if c, ok := n.filter.(*callExpr); ok {
				visitAll(c.args)
			}
		case *selectExpr:
			visit(n.test)
			visit(n.lhs)
		case *testExpr:
			visit(n.operand)
		case *unaryExpr:
			visit(n.arg)
		case *sliceExpr:
			visit(n.start)
			visit(n.stop)
			visit(n.step)
		case *kwargExpr:
			visit(n.val)
		case *spreadExpr:
			visit(n.arg)
		case *kwSpreadExpr:
			visit(n.arg)
		case *ternary:
			visit(n.cond)
			visit(n.t)
			visit(n.f)
		}
	}
	visitAll(body)
	return found
}

// bindArgs binds call arguments to a macro's parameters in scope.
func (r *renderer) bindArgs(display string, ps []param, wantKwargs, wantVarargs bool, args []value, scope *env) {
	pos := args
	kw := newObject(objKwargs, 0)
	if k := kwargsOf(args); k != nil {
		pos = pos[:len(pos)-1]
		for i, key := range k.keys {
			kw.set(key, k.vals[i])
		}
	}
	var pending []param
	for i, p := range ps {
		var v value
		if i < len(pos) {
			v = pos[i]
		} else if x, ok := kw.get(p.name); ok {
			v = x
			kw.del(p.name)
		}
		if v == nil && p.def != nil {
			pending = append(pending, p)
		}
		if v == nil {
			v = undefined
		}
		scope.setVar(p.name, v)
	}
	if wantKwargs {
		scope.setVar("kwargs", kw)
	} else if len(kw.keys) > 0 {
		panic(runErrorf("macro %s takes no keyword argument '%s'", display, kw.keys[0]))
	}
	if wantVarargs {
		var rest []value
		if len(pos) > len(ps) {
			rest = pos[len(ps):]
		}
		scope.setVar("varargs", &arrayV{items: rest})
	} else if len(pos) > len(ps) {
		panic(runErrorf("macro %s takes not more than %d argument(s)", display, len(ps)))
	}
	for _, p := range pending {
		scope.setVar(p.name, r.eval(p.def, scope))
	}
}

func (r *renderer) defineMacro(n *macroNode, e *env) {
	ps := params(n.args)
	wantKw, wantVar := usesSpecial(n.body, "kwargs"), usesSpecial(n.body, "varargs")
	for _, p := range ps {
		if p.name == "kwargs" {
			wantKw = false
		}
		if p.name == "varargs" {
			wantVar = false
		}
	}
	e.setVar(n.name, &funcV{name: n.name, fn: func(r *renderer, args []value, caller *env) value {
		if r.depth >= maxDepth {
			panic(runErrorf("macro %s: calls nested more than %d deep", n.name, maxDepth))
		}
		r.depth++
		defer func() { r.depth-- }()
		scope := newEnv(caller)
		r.bindArgs("'"+n.name+"'", ps, wantKw, wantVar, args, scope)
		return r.blockString(n.body, scope)
	}})
}

func (r *renderer) execCall(n *callStmt, e *env) value {
	ps := params(n.callerArgs)
	wantKw, wantVar := usesSpecial(n.body, "kwargs"), usesSpecial(n.body, "varargs")
	callerFn := &funcV{name: "caller", fn: func(r *renderer, args []value, _ *env) value {
		scope := newEnv(e)
		r.bindArgs("None", ps, wantKw, wantVar, args, scope)
		return r.blockString(n.body, scope)
	}}
	pos, kw := r.evalArgsSplit(n.call.args, e)
	pos = append(pos, kw)
	fn, ok := r.eval(n.call.callee, e).(*funcV)
	if !ok {
		panic(runErrorf("cannot call something that is not a function: %s", describe(n.call.callee)))
	}
	scope := newEnv(e)
	scope.setVar("caller", callerFn)
	return fn.fn(r, pos, scope)
}
