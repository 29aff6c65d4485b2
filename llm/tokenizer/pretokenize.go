package tokenizer

import (
	"encoding/json"
	"fmt"
)

// parsePreTokenizer returns the splitters of tokenizer.json's pre-tokenizer,
// applied in order, each to every piece of the one before. It requires a
// ByteLevel pre-tokenizer, last: this package implements byte-level BPE only.
func parsePreTokenizer(raw json.RawMessage) ([]splitFunc, error) {
	var steps []json.RawMessage
	var top struct {
		Type          string            `json:"type"`
		PreTokenizers []json.RawMessage `json:"pretokenizers"`
	}
	if isNull(raw) {
		return nil, fmt.Errorf("pre_tokenizer is missing: only byte-level BPE (a ByteLevel pre-tokenizer) is supported")
	}
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, fmt.Errorf("pre_tokenizer: %w", err)
	}
	if top.Type == "Sequence" {
		steps = top.PreTokenizers
	} else {
		steps = []json.RawMessage{raw}
	}
	var out []splitFunc
	for i, step := range steps {
		var p struct {
			Type            string          `json:"type"`
			Pattern         json.RawMessage `json:"pattern"`
			Behavior        string          `json:"behavior"`
			Invert          bool            `json:"invert"`
			AddPrefixSpace  bool            `json:"add_prefix_space"`
			UseRegex        *bool           `json:"use_regex"`
			IndividualDigit bool            `json:"individual_digits"`
		}
		if err := json.Unmarshal(step, &p); err != nil {
			return nil, fmt.Errorf("pre_tokenizer %d: %w", i, err)
		}
		last := i == len(steps)-1
		switch p.Type {
		case "Split":
			var pat struct {
				Regex  *string `json:"Regex"`
				String *string `json:"String"`
			}
			if err := json.Unmarshal(p.Pattern, &pat); err != nil || pat.Regex == nil {
				return nil, fmt.Errorf("pre_tokenizer Split: only {\"Regex\": ...} patterns are supported, got %s", p.Pattern)
			}
			if p.Behavior != "Isolated" || p.Invert {
				return nil, fmt.Errorf("pre_tokenizer Split: behavior %q (invert %v) is not supported, only Isolated", p.Behavior, p.Invert)
			}
			f, err := regexSplitter(*pat.Regex)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
		case "ByteLevel":
			if !last {
				return nil, fmt.Errorf("pre_tokenizer: ByteLevel must come last in the sequence")
			}
			if p.AddPrefixSpace {
				out = append(out, prefixSpace)
			}
			if p.UseRegex == nil || *p.UseRegex {
				out = append(out, scanGPT2)
			}
			return out, nil
		default:
			return nil, fmt.Errorf("pre_tokenizer %q is not supported (supported: Split with a regex, ByteLevel, Sequence)", p.Type)
		}
	}
	return nil, fmt.Errorf("pre_tokenizer has no ByteLevel step: only byte-level BPE is supported")
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
