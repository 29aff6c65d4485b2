package tokenizer

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// FuzzScanners checks the scanners against regexp2 on any input (go test
// runs the seeds; go test -fuzz=FuzzScanners explores further).
func FuzzScanners(f *testing.F) {
	for _, s := range []string{"", "Hello  world\r\n\r\n", "I'M 1234 ſ'S\u3000\u3000x", "😀 \xff\xe4 ''ll", "a\u00a0\u00a0b!!\n\n c"} {
		f.Add(s)
	}
	res := map[string]*regexp2.Regexp{}
	for _, p := range []string{patternQwen2, patternLlama3, patternGPT2} {
		re, err := compileRegexp2(p)
		if err != nil {
			f.Fatal(err)
		}
		res[p] = re
	}
	f.Fuzz(func(t *testing.T, s string) {
		for p, re := range res {
			var got, want []string
			knownScanners[p](s, func(x string) { got = append(got, x) })
			splitRegexp2(re, s, func(x string) { want = append(want, x) })
			if !slices.Equal(got, want) {
				t.Errorf("wrong pieces of %q for %q\ngot:  %#v\nwant: %#v", s, p, got, want)
			}
		}
	})
}

// FuzzRoundTrip checks Decode(Encode(s)) == s for GPT-2 (no normalizer) on
// valid UTF-8, and that invalid UTF-8 neither panics nor loses bytes other
// than to U+FFFD.
func FuzzRoundTrip(f *testing.F) {
	tok := loadReal(f, "gpt2")
	for _, s := range []string{"", "Hello world", "<|endoftext|>x", "中文 😀\r\n", "\xff\xfe", "a\xe4\xb8b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := tok.Decode(tok.Encode(s), false)
		if want := lossyUTF8(s); got != want {
			t.Errorf("wrong round trip\ngot:  %q\nwant: %q", got, want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("Decode returned invalid UTF-8 %q", got)
		}
	})
}

func TestStreamDecoderHoldsBackPartialCharacters(t *testing.T) {
	tok := loadReal(t, "gpt2")
	ids := tok.Encode("猫😀!")
	if len(ids) < 4 {
		t.Fatalf("want the characters split over byte tokens, got ids %v", ids)
	}
	d := tok.NewDecoder()
	var pieces []string
	for _, id := range ids {
		pieces = append(pieces, d.Add(id))
	}
	pieces = append(pieces, d.Flush())
	if got := strings.Join(pieces, ""); got != "猫😀!" {
		t.Errorf("wrong text\ngot:  %q\nwant: %q", got, "猫😀!")
	}
	if pieces[0] != "" {
		t.Errorf("first byte token of 猫 emitted %q, want it held back", pieces[0])
	}
	for _, p := range pieces {
		if !utf8.ValidString(p) {
			t.Errorf("emitted invalid UTF-8 %q", p)
		}
	}
	// A character never completed comes out of Flush as U+FFFD.
	d = tok.NewDecoder()
	if got := d.Add(ids[0]); got != "" {
		t.Errorf("wrong text\ngot:  %q\nwant: %q", got, "")
	}
	if got := d.Flush(); got != "\ufffd" {
		t.Errorf("wrong flushed text\ngot:  %q\nwant: %q", got, "\ufffd")
	}
}
