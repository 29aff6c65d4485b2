package tokenizer

import (
	"slices"
	"strings"
	"testing"
)

// charFile builds a small character-level tokenizer.json: vocabulary
// <unk>, <s>, the 256 byte tokens, then ▁, a, b, c, ▁a, ab, ▁ab.
func charFile(pre, normalizer, decoder string) string {
	vocab := []string{`"<unk>": 0`, `"<s>": 1`}
	for b := range 256 {
		vocab = append(vocab, `"<0x`+strings.ToUpper(hex2(b))+`>": `+itoa(2+b))
	}
	for i, tok := range []string{"▁", "a", "b", "c", "▁a", "ab", "▁ab"} {
		vocab = append(vocab, `"`+tok+`": `+itoa(258+i))
	}
	return `{"added_tokens": [{"id": 1, "content": "<s>", "special": true}],
		"normalizer": ` + normalizer + `, "pre_tokenizer": ` + pre + `, "decoder": ` + decoder + `,
		"post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<s>"}}, {"Sequence": {"id": "A"}}], "special_tokens": {"<s>": {"ids": [1]}}},
		"model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": true,
			"vocab": {` + strings.Join(vocab, ",") + `}, "merges": [["▁", "a"], ["▁a", "b"], ["a", "b"]]}}`
}

func hex2(b int) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[b>>4], digits[b&15]})
}

const (
	llamaNorm = `{"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}`
	llamaDec  = `{"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}`
)

// Ids of the charFile vocabulary.
const (
	cUnk, cBOS, cMeta, cA, cB, cC, cMetaA, cAB, cMetaAB = 0, 1, 258, 259, 260, 261, 262, 263, 264
)

func byteID(b byte) int { return 2 + int(b) }

func TestCharLevelEncode(t *testing.T) {
	for _, tc := range []struct {
		name, pre, norm, dec string
		text                 string
		want                 []int
	}{
		{"llama prefix", `null`, llamaNorm, llamaDec, "ab", []int{cMetaAB}},
		{"llama space", `null`, llamaNorm, llamaDec, "ab ab", []int{cMetaAB, cMetaAB}},
		{"llama prefix per stretch", `null`, llamaNorm, llamaDec, "ab<s>ab", []int{cMetaAB, cBOS, cMetaAB}},
		{"byte fallback", `null`, `null`, llamaDec, "aé", []int{cA, byteID(0xC3), byteID(0xA9)}},
		{"merges by rank", `null`, `null`, llamaDec, "aab", []int{cA, cAB}},
		{"metaspace first", `{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false}`, `null`, llamaDec, "ab<s>ab", []int{cMetaAB, cBOS, cAB}},
		{"metaspace always", `{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": false}`, `null`, llamaDec, "ab<s>ab", []int{cMetaAB, cBOS, cMetaAB}},
		{"metaspace never", `{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": false}`, `null`, llamaDec, "ab", []int{cAB}},
		{"metaspace legacy", `{"type": "Metaspace", "replacement": "▁", "add_prefix_space": true}`, `null`, llamaDec, "ab", []int{cMetaAB}},
		// With split, "▁a▁" is cut before each ▁: "▁a", "▁"; without, ▁a then ▁.
		{"metaspace split", `{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never", "split": true}`, `null`, llamaDec, "a b", []int{cA, cMeta, cB}},
		{"split merged with previous", `{"type": "Split", "pattern": {"String": "b"}, "behavior": "MergedWithPrevious", "invert": false}`, `null`, llamaDec, "abab", []int{cAB, cAB}},
		{"split removed", `{"type": "Split", "pattern": {"String": "b"}, "behavior": "Removed", "invert": false}`, `null`, llamaDec, "abcab", []int{cA, cC, cA}},
		{"split merged with next", `{"type": "Split", "pattern": {"String": "a"}, "behavior": "MergedWithNext", "invert": false}`, `null`, llamaDec, "bab", []int{cB, cAB}},
		{"split contiguous", `{"type": "Split", "pattern": {"String": "a"}, "behavior": "Contiguous", "invert": false}`, `null`, llamaDec, "aab", []int{cA, cA, cB}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Parse([]byte(charFile(tc.pre, tc.norm, tc.dec)))
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.Encode(tc.text); !slices.Equal(got, tc.want) {
				t.Errorf("wrong ids for %q\ngot:  %#v\nwant: %#v", tc.text, got, tc.want)
			}
		})
	}
}

func TestCharLevelUnknown(t *testing.T) {
	// Without byte fallback, unknown characters become <unk>, fused when adjacent.
	f := strings.Replace(charFile(`null`, `null`, `null`), `"byte_fallback": true`, `"byte_fallback": false`, 1)
	tok, err := Parse([]byte(f))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.Encode("aéèb"), []int{cA, cUnk, cB}; !slices.Equal(got, want) {
		t.Errorf("wrong ids\ngot:  %#v\nwant: %#v", got, want)
	}
	f = strings.Replace(f, `"fuse_unk": true`, `"fuse_unk": false`, 1)
	if tok, err = Parse([]byte(f)); err != nil {
		t.Fatal(err)
	}
	if got, want := tok.Encode("aéèb"), []int{cA, cUnk, cUnk, cB}; !slices.Equal(got, want) {
		t.Errorf("wrong ids without fuse_unk\ngot:  %#v\nwant: %#v", got, want)
	}
	// No decoder: tokens joined by spaces.
	if got, want := tok.Decode([]int{cA, cB}, false), "a b"; got != want {
		t.Errorf("wrong decoding without a decoder\ngot:  %q\nwant: %q", got, want)
	}
}

func TestCharLevelDecode(t *testing.T) {
	for _, tc := range []struct {
		name, dec string
		ids       []int
		skip      bool
		want      string
	}{
		{"strip one leading space", llamaDec, []int{cMetaAB, cMetaA}, false, "ab a"},
		{"special kept", llamaDec, []int{cBOS, cMetaAB}, false, "<s> ab"},
		{"special skipped, then strip", llamaDec, []int{cBOS, cMetaAB}, true, "ab"},
		{"byte run", llamaDec, []int{cA, byteID(0xC3), byteID(0xA9), cB}, false, "aéb"},
		{"byte run across a skipped special", llamaDec, []int{byteID(0xC3), cBOS, byteID(0xA9)}, true, "é"},
		{"invalid run: one U+FFFD per byte", llamaDec, []int{byteID(0xE4), byteID(0xB8), byteID(0xFF), cA}, false, "\uFFFD\uFFFD\uFFFDa"},
		{"only a meta token", llamaDec, []int{cMeta, cMeta, cA}, false, " a"},
		{"unknown ids dropped", llamaDec, []int{cA, 9999, cB}, false, "ab"},
		{"strip stop held to the end", `{"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 0, "stop": 1}]}`, []int{cA, cMeta, cMeta, cB, cMeta}, false, "a  b"},
		{"metaspace decoder", `{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always"}`, []int{cMetaA, cMetaAB}, false, "a ab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Parse([]byte(charFile(`null`, llamaNorm, tc.dec)))
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.Decode(tc.ids, tc.skip); got != tc.want {
				t.Errorf("wrong text\ngot:  %q\nwant: %q", got, tc.want)
			}
			d := tok.NewDecoder()
			d.SkipSpecial = tc.skip
			var b strings.Builder
			for _, id := range tc.ids {
				b.WriteString(d.Add(id))
			}
			if b.WriteString(d.Flush()); b.String() != tc.want {
				t.Errorf("wrong streamed text\ngot:  %q\nwant: %q", b.String(), tc.want)
			}
		})
	}
	tok, err := Parse([]byte(charFile(`null`, llamaNorm, llamaDec)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.EncodeWithSpecial("a"), []int{cBOS, cMetaA}; !slices.Equal(got, want) {
		t.Errorf("wrong ids with special tokens\ngot:  %#v\nwant: %#v", got, want)
	}
	// The stream holds a byte run until it ends.
	d := tok.NewDecoder()
	if got := d.Add(byteID(0xC3)) + d.Add(byteID(0xA9)); got != "" {
		t.Errorf("stream emitted %q inside a byte run", got)
	}
	if got := d.Add(cA); got != "éa" {
		t.Errorf("wrong text after the run\ngot:  %q\nwant: %q", got, "éa")
	}
}
