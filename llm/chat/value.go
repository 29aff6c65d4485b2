package chat

import (
	"math"
	"slices"
	"strconv"
	"strings"
)

// This file holds the run-time values, after @huggingface/jinja 0.5.11's runtime.ts:
//
//	undefined (undefinedT), none (nullT), bool, int64 (IntegerValue), float64 (FloatValue),
//	string, *arrayV (ArrayValue and TupleValue), *objectV (ObjectValue, keyword arguments
//	and namespaces; keys keep insertion order), *funcV.
type value any

type undefinedT struct{}
type nullT struct{}

var (
	undefined value = undefinedT{}
	null      value = nullT{}
)

type arrayV struct {
	items []value
	tuple bool
}

type objKind uint8

const (
	objPlain objKind = iota
	objKwargs
	objNamespace
)

// objectV keeps its keys and values in two slices, searched in order while it is small
// (messages have two keys, loop nine) and through an index once it grows.
type objectV struct {
	kind objKind
	keys []string
	vals []value
	idx  map[string]int // nil while len(keys) <= smallObject
}

const smallObject = 16

func newObject(kind objKind, n int) *objectV {
	return &objectV{kind: kind, keys: make([]string, 0, n), vals: make([]value, 0, n)}
}

func (o *objectV) find(k string) int {
	if o.idx != nil {
		if i, ok := o.idx[k]; ok {
			return i
		}
		return -1
	}
	for i, x := range o.keys {
		if x == k {
			return i
		}
	}
	return -1
}

func (o *objectV) get(k string) (value, bool) {
	if i := o.find(k); i >= 0 {
		return o.vals[i], true
	}
	return nil, false
}

func (o *objectV) set(k string, v value) {
	if i := o.find(k); i >= 0 {
		o.vals[i] = v
		return
	}
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
	if o.idx != nil {
		o.idx[k] = len(o.keys) - 1
	} else if len(o.keys) > smallObject {
		o.idx = make(map[string]int, len(o.keys))
		for i, x := range o.keys {
			o.idx[x] = i
		}
	}
}

// del removes k, keeping the order of the other keys.
func (o *objectV) del(k string) {
	i := o.find(k)
	if i < 0 {
		return
	}
	o.keys = append(o.keys[:i:i], o.keys[i+1:]...)
	o.vals = append(o.vals[:i:i], o.vals[i+1:]...)
	if o.idx != nil {
		o.idx = make(map[string]int, len(o.keys))
		for j, x := range o.keys {
			o.idx[x] = j
		}
	}
}

// isMapping is JavaScript's instanceof ObjectValue (plain objects and keyword arguments).
func (o *objectV) isMapping() bool { return o.kind != objNamespace }

// funcV is a callable; args may end with an *objectV of kind objKwargs.
type funcV struct {
	name string
	fn   func(r *renderer, args []value, e *env) value
}

// typeName names a value's type as @huggingface/jinja's error messages do.
func typeName(v value) string {
	switch x := v.(type) {
	case undefinedT:
		return "UndefinedValue"
	case nullT:
		return "NullValue"
	case bool:
		return "BooleanValue"
	case int64:
		return "IntegerValue"
	case float64:
		return "FloatValue"
	case string:
		return "StringValue"
	case *arrayV:
		if x.tuple {
			return "TupleValue"
		}
		return "ArrayValue"
	case *objectV:
		switch x.kind {
		case objKwargs:
			return "KeywordArgumentsValue"
		case objNamespace:
			return "NamespaceValue"
		}
		return "ObjectValue"
	case *funcV:
		return "FunctionValue"
	}
	return "unknown"
}

func isNullish(v value) bool {
	switch v.(type) {
	case undefinedT, nullT:
		return true
	}
	return false
}

// truthy is RuntimeValue.__bool__.
func truthy(v value) bool {
	switch x := v.(type) {
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0 && !math.IsNaN(x)
	case string:
		return x != ""
	case *arrayV:
		return len(x.items) > 0
	case *objectV:
		return x.kind == objNamespace || len(x.keys) > 0
	case *funcV:
		return true
	}
	return false
}

// toOutput is RuntimeValue.toString, used when a value is written to the output.
func toOutput(v value) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if x == 0 && math.Signbit(x) {
			return "-0.0"
		}
		if x == math.Trunc(x) && !math.IsInf(x, 0) {
			return strconv.FormatFloat(x, 'f', 1, 64)
		}
		return jsNumber(x)
	case bool:
		if x {
			return "true"
		}
		return "false"
	case *arrayV, *objectV:
		return toJSON(v, jsonOpts{}, false)
	case *funcV:
		return "function " + x.name + "() { [native code] }"
	}
	return "undefined"
}

// rawString is String(value.value): what + and ~ concatenate (1.0 gives "1", a list
// gives its items joined by commas).
func rawString(v value) string {
	switch x := v.(type) {
	case float64:
		return jsNumber(x)
	case *arrayV:
		parts := make([]string, len(x.items))
		for i, it := range x.items {
			parts[i] = toOutput(it)
		}
		return strings.Join(parts, ",")
	case *objectV:
		return "[object Map]"
	}
	return toOutput(v)
}

// joinString is how Array#join writes one item's raw value (none and undefined: "").
func joinString(v value) string {
	if isNullish(v) {
		return ""
	}
	return rawString(v)
}

type jsonOpts struct {
	indent     int
	ascii      bool
	sortKeys   bool
	separators *[2]string
}

// toJSON is @huggingface/jinja's toJSON: Python-style separators (", " and ": "), keys in
// insertion order; undefined is null where undefToNull, else the word undefined.
func toJSON(v value, o jsonOpts, undefToNull bool) string {
	var b strings.Builder
	writeJSON(&b, v, o, 0, undefToNull)
	return b.String()
}

func writeJSON(b *strings.Builder, v value, o jsonOpts, depth int, undefToNull bool) {
	itemSep, keySep := ", ", ": "
	if o.separators != nil {
		itemSep, keySep = o.separators[0], o.separators[1]
	} else if o.indent > 0 {
		itemSep = ","
	}
	switch x := v.(type) {
	case nullT:
		b.WriteString("null")
	case undefinedT:
		if undefToNull {
			b.WriteString("null")
		} else {
			b.WriteString("undefined")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			b.WriteString("null")
		} else {
			b.WriteString(jsNumber(x))
		}
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case string:
		jsonQuote(b, x, o.ascii)
	case *arrayV:
		if x.tuple {
			panic(runErrorf("cannot convert a tuple to JSON"))
		}
		if len(x.items) == 0 {
			b.WriteString("[]")
			return
		}
		base := "\n" + strings.Repeat(" ", o.indent*depth)
		child := base + strings.Repeat(" ", o.indent)
		b.WriteByte('[')
		for i, it := range x.items {
			if i > 0 {
				b.WriteString(itemSep)
			}
			if o.indent > 0 {
				b.WriteString(child)
			}
			writeJSON(b, it, o, depth+1, undefToNull)
		}
		if o.indent > 0 {
			b.WriteString(base)
		}
		b.WriteByte(']')
	case *objectV:
		if len(x.keys) == 0 {
			b.WriteString("{}")
			return
		}
		keys := x.keys
		if o.sortKeys {
			keys = append([]string(nil), keys...)
			sortStrings(keys, func(a, b string) int { return compareStrings(a, b, false) })
		}
		base := "\n" + strings.Repeat(" ", o.indent*depth)
		child := base + strings.Repeat(" ", o.indent)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(itemSep)
			}
			if o.indent > 0 {
				b.WriteString(child)
			}
			jsonQuote(b, k, o.ascii)
			b.WriteString(keySep)
			v, _ := x.get(k)
			writeJSON(b, v, o, depth+1, undefToNull)
		}
		if o.indent > 0 {
			b.WriteString(base)
		}
		b.WriteByte('}')
	default:
		panic(runErrorf("cannot convert %s to JSON", typeName(v)))
	}
}

// numeric returns the number in an IntegerValue, FloatValue or BooleanValue.
func numeric(v value) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// looseEqual is JavaScript's == between two values' .value: none equals undefined, numbers,
// booleans and numeric strings compare as numbers, two lists or dicts by identity, and a
// list or dict against a string, number or boolean as its string ([] == false, [1] == "1").
func looseEqual(a, b value) bool {
	if isNullish(a) || isNullish(b) {
		return isNullish(a) && isNullish(b)
	}
	aRef, bRef := isRef(a), isRef(b)
	if aRef && bRef {
		return sameRef(a, b)
	}
	if aRef {
		a = rawString(a) // ToPrimitive
	}
	if bRef {
		b = rawString(b)
	}
	as, aStr := a.(string)
	bs, bStr := b.(string)
	if aStr && bStr {
		return as == bs
	}
	an, aNum := numeric(a)
	bn, bNum := numeric(b)
	switch {
	case aNum && bNum:
		return an == bn
	case aNum && bStr:
		return an == jsToNumber(bs)
	case aStr && bNum:
		return jsToNumber(as) == bn
	}
	return sameRef(a, b)
}

// strictEqual is JavaScript's === between two values' .value.
func strictEqual(a, b value) bool {
	if isNullish(a) || isNullish(b) {
		return isNullish(a) && isNullish(b)
	}
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case int64, float64:
		switch b.(type) {
		case int64, float64:
			an, _ := numeric(a)
			bn, _ := numeric(b)
			return an == bn
		}
		return false
	}
	return sameRef(a, b)
}

func isRef(v value) bool {
	switch v.(type) {
	case *arrayV, *objectV, *funcV:
		return true
	}
	return false
}

func sameRef(a, b value) bool {
	switch x := a.(type) {
	case *arrayV:
		y, ok := b.(*arrayV)
		return ok && x == y
	case *objectV:
		y, ok := b.(*objectV)
		return ok && x == y
	case *funcV:
		y, ok := b.(*funcV)
		return ok && x == y
	}
	return false
}

// compareStrings orders strings as JavaScript's < does (UTF-16 code units), after
// toLowerCase unless caseSensitive.
func compareStrings(a, b string, caseSensitive bool) int {
	if !caseSensitive {
		a, b = jsLower(a), jsLower(b)
	}
	ua, ub := []rune(a), []rune(b)
	for i := 0; i < len(ua) && i < len(ub); i++ {
		if ua[i] != ub[i] {
			ka, kb := utf16Key(ua[i]), utf16Key(ub[i])
			if ka < kb {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(ua) < len(ub):
		return -1
	case len(ua) > len(ub):
		return 1
	}
	return 0
}

// utf16Key orders runes by their first UTF-16 code unit, then the rune.
func utf16Key(r rune) rune {
	if r >= 0x10000 {
		return 0xD800 + (r-0x10000)>>10
	}
	if r >= 0xE000 {
		return r + 0x400 // code points above the surrogates sort after them
	}
	return r
}

// compareValues is compareRuntimeValues, used by sort and dictsort.
func compareValues(a, b value, caseSensitive bool) int {
	_, an := a.(nullT)
	_, bn := b.(nullT)
	if an && bn {
		return 0
	}
	if an || bn {
		panic(runErrorf("cannot compare %s with %s", typeName(a), typeName(b)))
	}
	_, au := a.(undefinedT)
	_, bu := b.(undefinedT)
	if au && bu {
		return 0
	}
	if au || bu {
		panic(runErrorf("cannot compare %s with %s", typeName(a), typeName(b)))
	}
	if x, ok := numeric(a); ok {
		if y, ok := numeric(b); ok {
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return 0
		}
	}
	if typeName(a) != typeName(b) {
		panic(runErrorf("cannot compare different types: %s and %s", typeName(a), typeName(b)))
	}
	if s, ok := a.(string); ok {
		return compareStrings(s, b.(string), caseSensitive)
	}
	panic(runErrorf("cannot compare type: %s", typeName(a)))
}

func sortStrings(s []string, cmp func(a, b string) int) { slices.SortStableFunc(s, cmp) }
