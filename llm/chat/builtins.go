package chat

import (
	"math"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// This file holds the methods of strings and dicts, the tests (x is defined) and the
// global functions, after @huggingface/jinja 0.5.11's runtime.ts.

// jsUpper and jsLower are String#toUpperCase and #toLowerCase (full Unicode case mapping:
// ß becomes SS, a final Σ becomes ς).
func jsUpper(s string) string {
	if isASCII(s) {
		return strings.ToUpper(s)
	}
	return cases.Upper(language.Und).String(s)
}

func jsLower(s string) string {
	if isASCII(s) {
		return strings.ToLower(s)
	}
	return cases.Lower(language.Und).String(s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// titleCase is value.replace(/\b\w/g, c => c.toUpperCase()): ASCII word characters only.
func titleCase(s string) string {
	b := []byte(s)
	prevWord := false
	for i, c := range b {
		w := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
		if w && !prevWord && c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		prevWord = w
	}
	return string(b)
}

func capitalize(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 || r >= 0x10000 {
		return s // charAt(0) is half a surrogate pair, which has no upper case
	}
	return jsUpper(s[:size]) + s[size:]
}

func method(name string, fn func(args []value) value) *funcV {
	return &funcV{name: name, fn: func(_ *renderer, args []value, _ *env) value { return fn(args) }}
}

func argAt(args []value, i int) (value, bool) {
	if i < len(args) {
		if o, ok := args[i].(*objectV); ok && o.kind == objKwargs {
			return nil, false
		}
		return args[i], true
	}
	return nil, false
}

// kwargsOf returns the keyword arguments at the end of args, if any.
func kwargsOf(args []value) *objectV {
	if len(args) > 0 {
		if o, ok := args[len(args)-1].(*objectV); ok && o.kind == objKwargs {
			return o
		}
	}
	return nil
}

// stringBuiltin returns a string's method or property name, or nil.
func stringBuiltin(s, name string) value {
	switch name {
	case "upper":
		return method(name, func([]value) value { return jsUpper(s) })
	case "lower":
		return method(name, func([]value) value { return jsLower(s) })
	case "strip": // JavaScript's trim(): the argument is ignored
		return method(name, func([]value) value { return jsTrim(s) })
	case "lstrip":
		return method(name, func([]value) value { return jsTrimStart(s) })
	case "rstrip":
		return method(name, func([]value) value { return jsTrimEnd(s) })
	case "title":
		return method(name, func([]value) value { return titleCase(s) })
	case "capitalize":
		return method(name, func([]value) value { return capitalize(s) })
	case "length":
		return int64(utf16Len(s))
	case "startswith", "endswith":
		return method(name, func(args []value) value {
			has := strings.HasPrefix
			if name == "endswith" {
				has = strings.HasSuffix
			}
			if len(args) == 0 {
				panic(runErrorf("%s() requires at least one argument", name))
			}
			switch p := args[0].(type) {
			case string:
				return has(s, p)
			case *arrayV:
				for _, it := range p.items {
					ps, ok := it.(string)
					if !ok {
						panic(runErrorf("%s() tuple elements must be strings", name))
					}
					if has(s, ps) {
						return true
					}
				}
				return false
			}
			panic(runErrorf("%s() argument must be a string or tuple of strings", name))
		})
	case "split":
		return method(name, func(args []value) value { return split(s, args) })
	case "replace":
		return method(name, func(args []value) value {
			if len(args) < 2 {
				panic(runErrorf("replace() requires at least two arguments"))
			}
			old, ok1 := args[0].(string)
			repl, ok2 := args[1].(string)
			if !ok1 || !ok2 {
				panic(runErrorf("replace() arguments must be strings"))
			}
			count := value(null)
			if len(args) > 2 {
				if kw, ok := args[2].(*objectV); ok && kw.kind == objKwargs {
					if c, ok := kw.get("count"); ok {
						count = c
					}
				} else {
					count = args[2]
				}
			}
			n := -1
			switch c := count.(type) {
			case nullT:
			case int64:
				if c >= 0 {
					n = int(c)
				}
			default:
				panic(runErrorf("replace() count argument must be a number or null"))
			}
			return strings.Replace(s, old, repl, n)
		})
	}
	return nil
}

var nonSpace = regexp.MustCompile(`[^\t\n\v\f\r \x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\x{feff}]+`)

// split follows Python's str.split(sep=None, maxsplit=-1), as the JavaScript does.
func split(s string, args []value) value {
	sep := value(null)
	if len(args) > 0 {
		sep = args[0]
	}
	maxsplit := int64(-1)
	if len(args) > 1 {
		m, ok := args[1].(int64)
		if !ok {
			panic(runErrorf("maxsplit argument must be a number"))
		}
		maxsplit = m
	}
	var parts []string
	switch p := sep.(type) {
	case nullT:
		text := jsTrimStart(s)
		for _, loc := range nonSpace.FindAllStringIndex(text, -1) {
			if maxsplit != -1 && int64(len(parts)) >= maxsplit {
				parts = append(parts, text[loc[0]:])
				break
			}
			parts = append(parts, text[loc[0]:loc[1]])
		}
	case string:
		if p == "" {
			panic(runErrorf("empty separator"))
		}
		parts = strings.Split(s, p)
		if maxsplit != -1 && int64(len(parts)) > maxsplit {
			rest := strings.Join(parts[maxsplit:], p)
			parts = append(parts[:maxsplit:maxsplit], rest)
		}
	default:
		panic(runErrorf("sep argument must be a string or null"))
	}
	items := make([]value, len(parts))
	for i, p := range parts {
		items[i] = p
	}
	return &arrayV{items: items}
}

func objItems(o *objectV) *arrayV {
	items := make([]value, len(o.keys))
	for i, k := range o.keys {
		items[i] = &arrayV{items: []value{k, o.vals[i]}}
	}
	return &arrayV{items: items}
}

func objKeys(o *objectV) *arrayV {
	items := make([]value, len(o.keys))
	for i, k := range o.keys {
		items[i] = k
	}
	return &arrayV{items: items}
}

func objValues(o *objectV) *arrayV {
	items := make([]value, len(o.keys))
	for i := range o.keys {
		items[i] = o.vals[i]
	}
	return &arrayV{items: items}
}

// objectBuiltin returns a dict's method name, or nil.
func objectBuiltin(o *objectV, name string) value {
	switch name {
	case "get":
		return method(name, func(args []value) value {
			var key value = undefined
			if len(args) > 0 {
				key = args[0]
			}
			k, ok := key.(string)
			if !ok {
				panic(runErrorf("dict key must be a string: got %s", typeName(key)))
			}
			if v, ok := o.get(k); ok {
				return v
			}
			if len(args) > 1 {
				return args[1]
			}
			return null
		})
	case "items":
		return method(name, func([]value) value { return objItems(o) })
	case "keys":
		return method(name, func([]value) value { return objKeys(o) })
	case "values":
		return method(name, func([]value) value { return objValues(o) })
	case "dictsort":
		return method(name, func(args []value) value {
			kw := kwargsOf(args)
			opt := func(i int, key string, def value) value {
				if v, ok := argAt(args, i); ok {
					return v
				}
				if kw != nil {
					if v, ok := kw.get(key); ok {
						return v
					}
				}
				return def
			}
			cs, ok := opt(0, "case_sensitive", false).(bool)
			if !ok {
				panic(runErrorf("case_sensitive must be a boolean"))
			}
			by, ok := opt(1, "by", "key").(string)
			if !ok || by != "key" && by != "value" {
				panic(runErrorf("by must be either 'key' or 'value'"))
			}
			rev, ok := opt(2, "reverse", false).(bool)
			if !ok {
				panic(runErrorf("reverse must be a boolean"))
			}
			items := objItems(o).items
			idx := 0
			if by == "value" {
				idx = 1
			}
			sortValues(items, func(a, b value) int {
				c := compareValues(a.(*arrayV).items[idx], b.(*arrayV).items[idx], cs)
				if rev {
					return -c
				}
				return c
			})
			return &arrayV{items: items}
		})
	}
	return nil
}

// tests are the "x is name" tests; b is undefined except in selectattr.
var tests map[string]func(a, b value) bool

func init() {
	isInt := func(a value) int64 {
		i, ok := a.(int64)
		if !ok {
			panic(runErrorf("cannot test odd or even on %s", typeName(a)))
		}
		return i
	}
	tests = map[string]func(a, b value) bool{
		"boolean":  func(a, _ value) bool { _, ok := a.(bool); return ok },
		"callable": func(a, _ value) bool { _, ok := a.(*funcV); return ok },
		"odd":      func(a, _ value) bool { return isInt(a)%2 != 0 },
		"even":     func(a, _ value) bool { return isInt(a)%2 == 0 },
		"false":    func(a, _ value) bool { b, ok := a.(bool); return ok && !b },
		"true":     func(a, _ value) bool { b, ok := a.(bool); return ok && b },
		"none":     func(a, _ value) bool { _, ok := a.(nullT); return ok },
		"string":   func(a, _ value) bool { _, ok := a.(string); return ok },
		"number": func(a, _ value) bool {
			switch a.(type) {
			case int64, float64:
				return true
			}
			return false
		},
		"integer": func(a, _ value) bool { _, ok := a.(int64); return ok },
		"iterable": func(a, _ value) bool {
			switch x := a.(type) {
			case string:
				return true
			case *arrayV:
				return !x.tuple
			}
			return false
		},
		"mapping": func(a, _ value) bool { o, ok := a.(*objectV); return ok && o.isMapping() },
		"sequence": func(a, _ value) bool {
			switch x := a.(type) {
			case string, *arrayV:
				return true
			case *objectV:
				return x.isMapping()
			}
			return false
		},
		"lower":     func(a, _ value) bool { s, ok := a.(string); return ok && s == jsLower(s) },
		"upper":     func(a, _ value) bool { s, ok := a.(string); return ok && s == jsUpper(s) },
		"defined":   func(a, _ value) bool { _, ok := a.(undefinedT); return !ok },
		"undefined": func(a, _ value) bool { _, ok := a.(undefinedT); return ok },
		"equalto":   func(a, b value) bool { return strictEqual(a, b) },
		"eq":        func(a, b value) bool { return strictEqual(a, b) },
	}
}

// namespaceFunc is namespace(): a mutable object for assignments out of loops.
var namespaceFunc = &funcV{name: "namespace", fn: func(_ *renderer, args []value, _ *env) value {
	pos := args
	kw := kwargsOf(args)
	if kw != nil {
		pos = pos[:len(pos)-1]
	}
	if len(pos) > 1 {
		panic(runErrorf("namespace expected at most 1 argument, got %d", len(pos)))
	}
	ns := newObject(objNamespace, 4)
	if len(pos) == 1 {
		switch src := pos[0].(type) {
		case *objectV:
			for i, k := range src.keys {
				ns.set(k, src.vals[i])
			}
		case *arrayV:
			for _, pair := range src.items {
				var kv []value
				switch p := pair.(type) {
				case *arrayV:
					kv = p.items
				case string:
					for _, c := range p {
						kv = append(kv, string(c))
					}
				}
				if len(kv) != 2 {
					panic(runErrorf("namespace expected an object or an iterable of [key, value] pairs"))
				}
				k, ok := kv[0].(string)
				if !ok {
					panic(runErrorf("namespace keys must be strings"))
				}
				ns.set(k, kv[1])
			}
		default:
			panic(runErrorf("'%s' object is not iterable", typeName(src)))
		}
	}
	if kw != nil {
		for i, k := range kw.keys {
			ns.set(k, kw.vals[i])
		}
	}
	return ns
}}

var raiseException = &funcV{name: "raise_exception", fn: func(_ *renderer, args []value, _ *env) value {
	msg := "undefined"
	if len(args) > 0 {
		msg = rawString(args[0])
	}
	panic(&runError{msg: "raise_exception: " + msg})
}}

var rangeFunc = &funcV{name: "range", fn: func(_ *renderer, args []value, _ *env) value {
	nums := make([]float64, 0, 3)
	for _, a := range args {
		f, ok := numeric(a)
		if !ok {
			panic(runErrorf("range() arguments must be numbers, got %s", typeName(a)))
		}
		nums = append(nums, f)
	}
	var start, stop, step float64 = 0, 0, 1
	switch len(nums) {
	case 0:
		panic(runErrorf("range() needs at least one argument"))
	case 1:
		stop = nums[0]
	case 2:
		start, stop = nums[0], nums[1]
	default:
		start, stop, step = nums[0], nums[1], nums[2]
	}
	if step == 0 {
		panic(runErrorf("range() step must not be zero"))
	}
	const maxRange = 1 << 20
	var items []value
	for x := start; step > 0 && x < stop || step < 0 && x > stop; x += step {
		if len(items) >= maxRange {
			panic(runErrorf("range() of more than %d items", maxRange))
		}
		if x == math.Trunc(x) {
			items = append(items, int64(x))
		} else {
			items = append(items, x)
		}
	}
	return &arrayV{items: items}
}}

var monthNames = [...]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}

// strftime formats t with the directives @huggingface/jinja knows (%Y %m %d %b %B %H %M
// %%), in English; other directives are left as they are.
func strftime(t time.Time, format string) string {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		if format[i] != '%' || i+1 >= len(format) {
			b.WriteByte(format[i])
			continue
		}
		pad2 := func(n int) {
			if n < 10 {
				b.WriteByte('0')
			}
			b.WriteString(itoa(n))
		}
		switch format[i+1] {
		case 'Y':
			b.WriteString(itoa(t.Year()))
		case 'm':
			pad2(int(t.Month()))
		case 'd':
			pad2(t.Day())
		case 'b':
			b.WriteString(monthNames[t.Month()-1][:3])
		case 'B':
			b.WriteString(monthNames[t.Month()-1])
		case 'H':
			pad2(t.Hour())
		case 'M':
			pad2(t.Minute())
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(format[i+1])
		}
		i++
	}
	return b.String()
}

func itoa(n int) string { return toOutput(int64(n)) }

var strftimeNow = &funcV{name: "strftime_now", fn: func(r *renderer, args []value, _ *env) value {
	format := "undefined"
	if len(args) > 0 {
		format = rawString(args[0])
	}
	return strftime(r.t.date, format)
}}

// globals is the scope every rendering starts from; nothing writes to it.
var globals = &env{vars: map[string]value{
	"false": false, "true": true, "none": null,
	"False": false, "True": true, "None": null,
	"raise_exception": raiseException,
	"range":           rangeFunc,
	"strftime_now":    strftimeNow,
}}
