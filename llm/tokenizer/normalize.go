package tokenizer

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// parseNormalizer returns the normalizer of tokenizer.json, nil for none.
func parseNormalizer(raw json.RawMessage) (func(string) string, error) {
	if isNull(raw) {
		return nil, nil
	}
	var n struct {
		Type        string            `json:"type"`
		Normalizers []json.RawMessage `json:"normalizers"`
		Prepend     string            `json:"prepend"`
		Pattern     json.RawMessage   `json:"pattern"`
		Content     string            `json:"content"`
		StripLeft   bool              `json:"strip_left"`
		StripRight  bool              `json:"strip_right"`
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, fmt.Errorf("normalizer: %w", err)
	}
	switch n.Type {
	case "NFC":
		return norm.NFC.String, nil
	case "NFD":
		return norm.NFD.String, nil
	case "NFKC":
		return norm.NFKC.String, nil
	case "NFKD":
		return norm.NFKD.String, nil
	case "Lowercase":
		return strings.ToLower, nil
	case "Prepend":
		// The Rust library prepends to non-empty text only.
		return func(s string) string {
			if s == "" {
				return s
			}
			return n.Prepend + s
		}, nil
	case "Replace":
		return parseReplace(n.Pattern, n.Content)
	case "Strip":
		return func(s string) string {
			if n.StripLeft {
				s = strings.TrimLeftFunc(s, unicode.IsSpace)
			}
			if n.StripRight {
				s = strings.TrimRightFunc(s, unicode.IsSpace)
			}
			return s
		}, nil
	case "Sequence":
		var fs []func(string) string
		for _, sub := range n.Normalizers {
			f, err := parseNormalizer(sub)
			if err != nil {
				return nil, err
			}
			if f != nil {
				fs = append(fs, f)
			}
		}
		return func(s string) string {
			for _, f := range fs {
				s = f(s)
			}
			return s
		}, nil
	}
	return nil, fmt.Errorf("normalizer %q is not supported (supported: NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip, Sequence)", n.Type)
}

// parseReplace returns the Replace normalizer: every match of a {"String": …}
// or {"Regex": …} pattern becomes content.
func parseReplace(pattern json.RawMessage, content string) (func(string) string, error) {
	var pat struct {
		Regex  *string `json:"Regex"`
		String *string `json:"String"`
	}
	if err := json.Unmarshal(pattern, &pat); err != nil || (pat.Regex == nil && pat.String == nil) {
		return nil, fmt.Errorf("normalizer Replace: want a {\"Regex\": ...} or {\"String\": ...} pattern, got %s", pattern)
	}
	if pat.String != nil {
		from := *pat.String
		if from == "" {
			return nil, fmt.Errorf("normalizer Replace: empty string pattern")
		}
		return func(s string) string { return strings.ReplaceAll(s, from, content) }, nil
	}
	re, err := compileRegexp2(*pat.Regex)
	if err != nil {
		return nil, fmt.Errorf("normalizer Replace: %w", err)
	}
	return func(s string) string {
		var b strings.Builder
		prev := 0
		splitRegexp2Matches(re, s, func(start, end int) {
			b.WriteString(s[prev:start])
			b.WriteString(content)
			prev = end
		})
		if prev == 0 {
			return s
		}
		b.WriteString(s[prev:])
		return b.String()
	}, nil
}
