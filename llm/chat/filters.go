package chat

import (
	"slices"
	"strings"
)

// This file holds the filters (x | name, x | name(args)), after applyFilter in
// @huggingface/jinja 0.5.11's runtime.ts, including which filters apply to which types.
// applyFilter returns nil where the JavaScript returns a bare undefined (first and last of
// an empty list).

func sortValues(items []value, cmp func(a, b value) int) { slices.SortStableFunc(items, cmp) }

func (r *renderer) applyFilter(operand value, f node, e *env) value {
	switch fn := f.(type) {
	case *ident:
		return filterPlain(operand, fn.name)
	case *callExpr:
		id, ok := fn.callee.(*ident)
		if !ok {
			panic(runErrorf("unknown filter %s", describe(fn.callee)))
		}
		return r.filterCall(operand, id.name, fn.args, e)
	}
	panic(runErrorf("unknown filter %s", describe(f)))
}

// filterPlain applies a filter written without arguments.
func filterPlain(operand value, name string) value {
	switch name {
	case "safe":
		return operand
	case "tojson":
		return toJSON(operand, jsonOpts{}, true)
	}
	switch x := operand.(type) {
	case *arrayV:
		switch name {
		case "list":
			return x
		case "first":
			if len(x.items) == 0 {
				return nil // JavaScript's undefined, not an UndefinedValue: see eval
			}
			return x.items[0]
		case "last":
			if len(x.items) == 0 {
				return nil // JavaScript's undefined, not an UndefinedValue: see eval
			}
			return x.items[len(x.items)-1]
		case "length":
			return int64(len(x.items))
		case "reverse":
			items := slices.Clone(x.items)
			slices.Reverse(items)
			return &arrayV{items: items}
		case "sort":
			items := slices.Clone(x.items)
			sortValues(items, func(a, b value) int { return compareValues(a, b, false) })
			return &arrayV{items: items}
		case "join":
			var b strings.Builder
			for _, it := range x.items {
				b.WriteString(joinString(it))
			}
			return b.String()
		case "string":
			return toJSON(x, jsonOpts{}, false)
		case "unique":
			var out []value
			for _, it := range x.items {
				if !slices.ContainsFunc(out, func(o value) bool { return sameValueZero(o, it) }) {
					out = append(out, it)
				}
			}
			return &arrayV{items: out}
		}
	case string:
		switch name {
		case "length":
			return int64(utf16Len(x))
		case "upper":
			return jsUpper(x)
		case "lower":
			return jsLower(x)
		case "title":
			return titleCase(x)
		case "capitalize":
			return capitalize(x)
		case "trim":
			return jsTrim(x)
		case "indent":
			return indent(x, 4, false, false)
		case "join", "string":
			return x
		case "int":
			if n, ok := jsParseInt(x); ok {
				return n
			}
			return int64(0)
		case "float":
			if f, ok := jsParseFloat(x); ok {
				return f
			}
			return float64(0)
		}
	case int64, float64:
		switch name {
		case "abs":
			if i, ok := x.(int64); ok {
				return max(i, -i)
			}
			f := x.(float64)
			return max(f, -f)
		case "int":
			if i, ok := x.(int64); ok {
				return i
			}
			f, _ := numeric(x)
			return int64(floor(f))
		case "float":
			f, _ := numeric(x)
			return f
		case "string":
			return toOutput(x)
		}
	case *objectV:
		if x.isMapping() {
			switch name {
			case "items":
				return objItems(x)
			case "length":
				return int64(len(x.keys))
			}
			if b := objectBuiltin(x, name); b != nil {
				if fv, ok := b.(*funcV); ok {
					return fv.fn(nil, nil, nil)
				}
				return b
			}
		}
	case bool:
		switch name {
		case "bool":
			return x
		case "int":
			if x {
				return int64(1)
			}
			return int64(0)
		case "float":
			if x {
				return float64(1)
			}
			return float64(0)
		case "string":
			return toOutput(x)
		}
	}
	panic(runErrorf("cannot apply filter %q to %s", name, typeName(operand)))
}

func floor(f float64) float64 {
	i := float64(int64(f))
	if i > f {
		i--
	}
	return i
}

// sameValueZero is how a JavaScript Set compares two values' .value.
func sameValueZero(a, b value) bool {
	fa, aNum := a.(float64)
	fb, bNum := b.(float64)
	if aNum && bNum && fa != fa && fb != fb {
		return true // NaN
	}
	return strictEqual(a, b)
}

func indent(s string, width int, first, blank bool) string {
	lines := strings.Split(s, "\n")
	pad := strings.Repeat(" ", width)
	for i, l := range lines {
		if !first && i == 0 || !blank && l == "" {
			continue
		}
		lines[i] = pad + l
	}
	return strings.Join(lines, "\n")
}

// filterCall applies a filter written with arguments.
func (r *renderer) filterCall(operand value, name string, argNodes []node, e *env) value {
	args := func() ([]value, *objectV) { return r.evalArgsSplit(argNodes, e) }
	opt := func(pos []value, kw *objectV, i int, key string, def value) value {
		if i >= 0 && i < len(pos) {
			return pos[i]
		}
		if v, ok := kw.get(key); ok {
			return v
		}
		return def
	}
	switch name {
	case "tojson":
		_, kw := args()
		var o jsonOpts
		switch v := opt(nil, kw, -1, "indent", null).(type) {
		case int64:
			o.indent = int(v)
		case nullT:
		default:
			panic(runErrorf("if set, indent must be a number"))
		}
		var ok bool
		if o.ascii, ok = opt(nil, kw, -1, "ensure_ascii", false).(bool); !ok {
			panic(runErrorf("if set, ensure_ascii must be a boolean"))
		}
		if o.sortKeys, ok = opt(nil, kw, -1, "sort_keys", false).(bool); !ok {
			panic(runErrorf("if set, sort_keys must be a boolean"))
		}
		switch v := opt(nil, kw, -1, "separators", null).(type) {
		case *arrayV:
			if len(v.items) != 2 {
				panic(runErrorf("separators must be a tuple of two strings"))
			}
			a, ok1 := v.items[0].(string)
			b, ok2 := v.items[1].(string)
			if !ok1 || !ok2 {
				panic(runErrorf("separators must be a tuple of two strings"))
			}
			o.separators = &[2]string{a, b}
		case nullT:
		default:
			panic(runErrorf("if set, separators must be a tuple of two strings"))
		}
		return toJSON(operand, o, true)
	case "join":
		var parts []string
		switch x := operand.(type) {
		case string:
			for _, c := range x {
				parts = append(parts, string(c))
			}
		case *arrayV:
			for _, it := range x.items {
				parts = append(parts, joinString(it))
			}
		default:
			panic(runErrorf("cannot apply filter %q to %s", name, typeName(operand)))
		}
		pos, kw := args()
		sep, ok := opt(pos, kw, 0, "separator", "").(string)
		if !ok {
			panic(runErrorf("separator must be a string"))
		}
		return strings.Join(parts, sep)
	case "int", "float":
		pos, kw := args()
		var def value = int64(0)
		if name == "float" {
			def = float64(0)
		}
		def = opt(pos, kw, 0, "default", def)
		switch x := operand.(type) {
		case string:
			if name == "int" {
				if n, ok := jsParseInt(x); ok {
					return n
				}
				return def
			}
			if f, ok := jsParseFloat(x); ok {
				return f
			}
			return def
		case int64, float64:
			return x
		case bool:
			if name == "int" {
				return map[bool]int64{false: 0, true: 1}[x]
			}
			return map[bool]float64{false: 0, true: 1}[x]
		}
		panic(runErrorf("cannot apply filter %q to %s", name, typeName(operand)))
	case "default":
		pos, kw := args()
		var def value = ""
		if len(pos) > 0 {
			def = pos[0]
		}
		boolean, ok := opt(pos, kw, 1, "boolean", false).(bool)
		if !ok {
			panic(runErrorf("default filter flag must be a boolean"))
		}
		if _, undef := operand.(undefinedT); undef || boolean && !truthy(operand) {
			return def
		}
		return operand
	}
	switch x := operand.(type) {
	case *arrayV:
		switch name {
		case "sort":
			pos, kw := args()
			rev, ok := opt(pos, kw, 0, "reverse", false).(bool)
			if !ok {
				panic(runErrorf("reverse must be a boolean"))
			}
			cs, ok := opt(pos, kw, 1, "case_sensitive", false).(bool)
			if !ok {
				panic(runErrorf("case_sensitive must be a boolean"))
			}
			attr := opt(pos, kw, 2, "attribute", null)
			key := func(v value) value { return v }
			switch a := attr.(type) {
			case string:
				key = func(v value) value { return attributeValue(v, a) }
			case int64:
				key = func(v value) value { return attributeValue(v, itoa(int(a))) }
			case nullT:
			default:
				panic(runErrorf("attribute must be a string, integer, or null"))
			}
			items := slices.Clone(x.items)
			sortValues(items, func(a, b value) int {
				c := compareValues(key(a), key(b), cs)
				if rev {
					return -c
				}
				return c
			})
			return &arrayV{items: items}
		case "selectattr", "rejectattr":
			for _, it := range x.items {
				if _, ok := it.(*objectV); !ok {
					panic(runErrorf("%s can only be applied to a list of objects", name))
				}
			}
			var strs []string
			for _, a := range argNodes {
				s, ok := a.(*strLit)
				if !ok {
					panic(runErrorf("arguments of %s must be strings", name))
				}
				strs = append(strs, s.v)
			}
			if len(strs) == 0 {
				panic(runErrorf("%s needs an attribute name", name))
			}
			test := func(a, _ value) bool { return truthy(a) }
			if len(strs) > 1 {
				t, ok := tests[strs[1]]
				if !ok {
					panic(runErrorf("unknown test: %s", strs[1]))
				}
				test = t
			}
			var arg value = undefined
			if len(strs) > 2 {
				arg = strs[2]
			}
			var out []value
			for _, it := range x.items {
				a, ok := it.(*objectV).get(strs[0])
				res := ok && test(a, arg)
				if res == (name == "selectattr") {
					out = append(out, it)
				}
			}
			return &arrayV{items: out}
		case "map":
			_, kw := args()
			attr, ok := kw.get("attribute")
			if !ok {
				panic(runErrorf("map without attribute= is not supported"))
			}
			as, ok := attr.(string)
			if !ok {
				panic(runErrorf("attribute must be a string"))
			}
			def, hasDef := kw.get("default")
			out := make([]value, len(x.items))
			for i, it := range x.items {
				if _, ok := it.(*objectV); !ok {
					panic(runErrorf("items in map must be objects"))
				}
				v := attributeValue(it, as)
				if _, undef := v.(undefinedT); undef && hasDef {
					v = def
				}
				out[i] = v
			}
			return &arrayV{items: out}
		}
	case string:
		switch name {
		case "indent":
			pos, kw := args()
			w, ok := opt(pos, kw, 0, "width", int64(4)).(int64)
			if !ok {
				panic(runErrorf("width must be a number"))
			}
			first := truthy(opt(pos, kw, 1, "first", false))
			blank := truthy(opt(pos, kw, 2, "blank", false))
			return indent(x, int(w), first, blank)
		case "replace":
			pos, kw := args()
			return stringBuiltin(x, "replace").(*funcV).fn(r, append(pos, kw), e)
		}
	case *objectV:
		if x.isMapping() {
			if b, ok := objectBuiltin(x, name).(*funcV); ok {
				pos, kw := args()
				if len(kw.keys) > 0 {
					pos = append(pos, kw)
				}
				return b.fn(r, pos, e)
			}
		}
	}
	panic(runErrorf("cannot apply filter %q to %s", name, typeName(operand)))
}

// attributeValue follows a dotted path through dicts, namespaces and list indices.
func attributeValue(v value, path string) value {
	for _, part := range strings.Split(path, ".") {
		switch x := v.(type) {
		case *objectV:
			if y, ok := x.get(part); ok {
				v = y
			} else {
				return undefined
			}
		case *arrayV:
			n, ok := jsParseInt(part)
			if !ok || n < 0 || int(n) >= len(x.items) {
				return undefined
			}
			v = x.items[n]
		default:
			return undefined
		}
	}
	return v
}
