package tokenizer

import (
	"encoding/json"
	"fmt"

	"github.com/dlclark/regexp2"
)

// A preStep is one pre-tokenizer of a sequence: a splitter, or Metaspace,
// which needs to know whether its piece starts the input.
type preStep struct {
	split splitFunc
	meta  *metaspace
}

// parsePreTokenizer returns the steps of tokenizer.json's pre-tokenizer,
// applied in order, each to every piece of the one before, and whether it is
// byte-level (ByteLevel last: the model's symbols are bytes). Without
// ByteLevel the model's symbols are characters (SentencePiece-style files:
// Llama 2, Mistral, Gemma), and the pre-tokenizer may be missing.
func parsePreTokenizer(raw json.RawMessage) (steps []preStep, byteLevel bool, err error) {
	if isNull(raw) {
		return nil, false, nil
	}
	var top struct {
		Type          string            `json:"type"`
		PreTokenizers []json.RawMessage `json:"pretokenizers"`
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, false, fmt.Errorf("pre_tokenizer: %w", err)
	}
	raws := []json.RawMessage{raw}
	if top.Type == "Sequence" {
		raws = top.PreTokenizers
	}
	for i, step := range raws {
		var p struct {
			Type            string          `json:"type"`
			Pattern         json.RawMessage `json:"pattern"`
			Behavior        string          `json:"behavior"`
			Invert          bool            `json:"invert"`
			AddPrefixSpace  *bool           `json:"add_prefix_space"`
			UseRegex        *bool           `json:"use_regex"`
			Replacement     string          `json:"replacement"`
			PrependScheme   string          `json:"prepend_scheme"`
			Split           *bool           `json:"split"`
			IndividualDigit bool            `json:"individual_digits"`
		}
		if err := json.Unmarshal(step, &p); err != nil {
			return nil, false, fmt.Errorf("pre_tokenizer %d: %w", i, err)
		}
		last := i == len(raws)-1
		switch p.Type {
		case "Split":
			f, err := parseSplit(p.Pattern, p.Behavior, p.Invert)
			if err != nil {
				return nil, false, err
			}
			steps = append(steps, preStep{split: f})
		case "Metaspace":
			m := &metaspace{repl: p.Replacement, prepend: p.PrependScheme, split: p.Split == nil || *p.Split}
			if m.repl == "" {
				m.repl = "▁"
			}
			if m.prepend == "" { // files before tokenizers 0.19: add_prefix_space
				m.prepend = "always"
				if p.AddPrefixSpace != nil && !*p.AddPrefixSpace {
					m.prepend = "never"
				}
			}
			switch m.prepend {
			case "always", "first", "never":
			default:
				return nil, false, fmt.Errorf("pre_tokenizer Metaspace: prepend_scheme %q is not supported", m.prepend)
			}
			steps = append(steps, preStep{meta: m})
		case "ByteLevel":
			if !last {
				return nil, false, fmt.Errorf("pre_tokenizer: ByteLevel must come last in the sequence")
			}
			if p.AddPrefixSpace != nil && *p.AddPrefixSpace {
				steps = append(steps, preStep{split: prefixSpace})
			}
			if p.UseRegex == nil || *p.UseRegex {
				steps = append(steps, preStep{split: scanGPT2})
			}
			byteLevel = true
		default:
			return nil, false, fmt.Errorf("pre_tokenizer %q is not supported (supported: Split, Metaspace, ByteLevel, Sequence)", p.Type)
		}
	}
	if byteLevel {
		for _, s := range steps {
			if s.meta != nil {
				return nil, false, fmt.Errorf("pre_tokenizer: Metaspace with ByteLevel is not supported")
			}
		}
	}
	return steps, byteLevel, nil
}

// parseSplit returns the Split pre-tokenizer for a {"Regex": …} or
// {"String": …} pattern and a behaviour.
func parseSplit(pattern json.RawMessage, behavior string, invert bool) (splitFunc, error) {
	var pat struct {
		Regex  *string `json:"Regex"`
		String *string `json:"String"`
	}
	if err := json.Unmarshal(pattern, &pat); err != nil || (pat.Regex == nil && pat.String == nil) {
		return nil, fmt.Errorf("pre_tokenizer Split: want a {\"Regex\": ...} or {\"String\": ...} pattern, got %s", pattern)
	}
	b, err := parseBehavior(behavior)
	if err != nil {
		return nil, fmt.Errorf("pre_tokenizer Split: %w", err)
	}
	if pat.String != nil {
		if *pat.String == "" {
			return nil, fmt.Errorf("pre_tokenizer Split: empty string pattern")
		}
		return literalSplitter(*pat.String, b, invert), nil
	}
	if b == splitIsolated && !invert {
		return regexSplitter(*pat.Regex)
	}
	re, err := compileRegexp2(*pat.Regex)
	if err != nil {
		return nil, err
	}
	return func(s string, emit func(string)) {
		splitSpans(s, regexSpans(re, s), b, invert, emit)
	}, nil
}

// regexSpans returns the matches of re in s and the gaps between them.
func regexSpans(re *regexp2.Regexp, s string) []span {
	var spans []span
	prev := 0
	splitRegexp2Matches(re, s, func(start, end int) {
		if start > prev {
			spans = append(spans, span{prev, start, false})
		}
		spans = append(spans, span{start, end, true})
		prev = end
	})
	if prev < len(s) || len(s) == 0 {
		spans = append(spans, span{prev, len(s), false})
	}
	return spans
}

// prefixSpace is ByteLevel's add_prefix_space: a piece that does not start
// with a space gets one.
func prefixSpace(s string, emit func(string)) {
	if len(s) > 0 && s[0] != ' ' {
		emit(" " + s)
		return
	}
	emit(s)
}
