package chat

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the JavaScript string and number semantics that @huggingface/jinja
// inherits from its host language: which characters trim() removes, UTF-16 lengths and
// indices, Number#toString and JSON.stringify.

// isJSSpace reports whether r is matched by JavaScript's /\s/ and removed by
// String#trim: the WhiteSpace and LineTerminator productions of ECMA-262 (tab, VT, FF,
// space, NBSP, ZWNBSP, the Zs category, LF, CR, LS, PS). U+0085 and U+180E are not.
func isJSSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0xA0, 0x1680, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF:
		return true
	}
	return r >= 0x2000 && r <= 0x200A
}

func jsTrim(s string) string      { return strings.TrimFunc(s, isJSSpace) }
func jsTrimStart(s string) string { return strings.TrimLeftFunc(s, isJSSpace) }
func jsTrimEnd(s string) string   { return strings.TrimRightFunc(s, isJSSpace) }

// utf16Len returns the length of s in UTF-16 code units, JavaScript's String#length.
func utf16Len(s string) int {
	n := 0
	for i := 0; i < len(s); {
		if s[i] < utf8.RuneSelf {
			n++
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r >= 0x10000 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

// utf16At returns String#at(i): the code unit at i (negative i counts from the end), as
// a string; a lone surrogate half comes back as U+FFFD since Go strings hold UTF-8.
func utf16At(s string, i int) (string, bool) {
	u := utf16.Encode([]rune(s))
	if i < 0 {
		i += len(u)
	}
	if i < 0 || i >= len(u) {
		return "", false
	}
	return string(rune(u[i])), true // a surrogate half converts to U+FFFD
}

// jsNumber formats f as JavaScript's Number#toString does.
func jsNumber(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		return "0"
	}
	if a := math.Abs(f); a >= 1e-7 && a < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // 1e+21, 1.5e-07
	mant, exp, _ := strings.Cut(s, "e")
	sign := exp[0]
	exp = strings.TrimLeft(exp[1:], "0")
	return mant + "e" + string(sign) + exp
}

// jsToNumber converts s as JavaScript's Number(s) does, for loose equality.
func jsToNumber(s string) float64 {
	t := jsTrim(s)
	if t == "" {
		return 0
	}
	switch t {
	case "Infinity", "+Infinity":
		return math.Inf(1)
	case "-Infinity":
		return math.Inf(-1)
	}
	if len(t) > 2 && t[0] == '0' {
		base := 0
		switch t[1] {
		case 'x', 'X':
			base = 16
		case 'o', 'O':
			base = 8
		case 'b', 'B':
			base = 2
		}
		if base != 0 {
			n, err := strconv.ParseUint(t[2:], base, 64)
			if err != nil {
				return math.NaN()
			}
			return float64(n)
		}
	}
	for _, c := range t {
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return math.NaN()
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return math.NaN()
	}
	return f
}

// jsParseInt is JavaScript's parseInt(s, 10): leading whitespace, a sign and the longest
// run of digits; ok is false where JavaScript returns NaN.
func jsParseInt(s string) (int64, bool) {
	t := jsTrimStart(s)
	i := 0
	if i < len(t) && (t[i] == '+' || t[i] == '-') {
		i++
	}
	j := i
	for j < len(t) && t[j] >= '0' && t[j] <= '9' {
		j++
	}
	if j == i {
		return 0, false
	}
	n, err := strconv.ParseInt(t[:j], 10, 64)
	if err != nil {
		f, _ := strconv.ParseFloat(t[:j], 64)
		return int64(f), true
	}
	return n, true
}

// jsParseFloat is JavaScript's parseFloat(s): the longest prefix that reads as a decimal
// number after leading whitespace; ok is false where JavaScript returns NaN.
func jsParseFloat(s string) (float64, bool) {
	t := jsTrimStart(s)
	for _, inf := range []string{"Infinity", "+Infinity", "-Infinity"} {
		if strings.HasPrefix(t, inf) {
			if inf[0] == '-' {
				return math.Inf(-1), true
			}
			return math.Inf(1), true
		}
	}
	i := 0
	if i < len(t) && (t[i] == '+' || t[i] == '-') {
		i++
	}
	digits := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
		digits++
	}
	if i < len(t) && t[i] == '.' {
		i++
		for i < len(t) && t[i] >= '0' && t[i] <= '9' {
			i++
			digits++
		}
	}
	if digits == 0 {
		return 0, false
	}
	if i < len(t) && (t[i] == 'e' || t[i] == 'E') {
		j := i + 1
		if j < len(t) && (t[j] == '+' || t[j] == '-') {
			j++
		}
		k := j
		for k < len(t) && t[k] >= '0' && t[k] <= '9' {
			k++
		}
		if k > j {
			i = k
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSuffix(t[:i], "."), 64)
	if err != nil {
		return 0, false
	}
	return f, true
}

// jsonQuote is JSON.stringify of a string; with ascii, every code unit from U+007F up is
// written as \uXXXX, as @huggingface/jinja's ensure_ascii does.
func jsonQuote(b *strings.Builder, s string, ascii bool) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hex[r>>4])
			b.WriteByte(hex[r&0xF])
		case ascii && r >= 0x7F:
			var units []uint16
			if r >= 0x10000 {
				r1, r2 := utf16.EncodeRune(r)
				units = []uint16{uint16(r1), uint16(r2)}
			} else {
				units = []uint16{uint16(r)}
			}
			for _, u := range units {
				b.WriteString(`\u`)
				b.WriteByte(hex[u>>12])
				b.WriteByte(hex[u>>8&0xF])
				b.WriteByte(hex[u>>4&0xF])
				b.WriteByte(hex[u&0xF])
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}
