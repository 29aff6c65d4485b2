package tokenizer

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestTrainRegeneratesCommittedFile trains as scripts/check_trained.sh does
// and expects the committed file byte for byte: training is deterministic and
// the Rust golden below belongs to this very file.
func TestTrainRegeneratesCommittedFile(t *testing.T) {
	corpus, err := os.ReadFile("testdata/train_corpus.txt")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/trained.tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		got, err := Train([]string{string(corpus)}, TrainOptions{VocabSize: 700, MinFrequency: 2})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("trained file differs from testdata/trained.tokenizer.json (rerun scripts/check_trained.sh if the change is meant)")
		}
	}
}

// TestTrainedMatchesRust checks the trained file against the Rust library's
// ids and decodings (testdata/trained.golden.json).
func TestTrainedMatchesRust(t *testing.T) {
	tok, err := Load("testdata/trained.tokenizer.json")
	if err != nil {
		t.Fatal(err)
	}
	g := readGolden(t, "testdata/trained.golden.json")
	if got := tok.VocabSize(); got != g.VocabSize {
		t.Errorf("wrong vocab size\ngot:  %#v\nwant: %#v", got, g.VocabSize)
	}
	for _, e := range g.Encodings {
		if got := tok.Encode(e.Text); !slices.Equal(got, e.IDs) {
			t.Errorf("wrong ids for %q\ngot:  %#v\nwant: %#v", e.Text, got, e.IDs)
		}
	}
	for _, d := range g.Decodings {
		if got := tok.Decode(d.IDs, d.SkipSpecial); got != d.Text {
			t.Errorf("wrong decoding of %v\ngot:  %q\nwant: %q", d.IDs, got, d.Text)
		}
	}
	for _, s := range ChatMLSpecialTokens {
		id, ok := tok.TokenID(s)
		if !ok || !tok.IsSpecial(id) {
			t.Errorf("special token %q missing or not special", s)
		}
	}
}

func TestTrain(t *testing.T) {
	text := strings.Repeat("low lower lowest newer wider <|endoftext|> ", 20)
	data, err := Train([]string{text}, TrainOptions{VocabSize: 256 + 3 + 5})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.VocabSize(), 264; got != want {
		t.Errorf("wrong vocab size\ngot:  %#v\nwant: %#v", got, want)
	}
	// The five merges, most frequent pair first, ties to the smallest ids:
	// (e,r), (l,o) and (o,w) are each seen 60 times and merge in id order;
	// then (Ġ,low) 59 times; then, of the pairs seen 20 times, (Ġ,n) has the
	// smallest ids.
	var got []string
	for id := 256; id < 261; id++ {
		raw, _ := tok.tokenBytes(id)
		got = append(got, raw)
	}
	if want := []string{"er", "lo", "low", " low", " n"}; !slices.Equal(got, want) {
		t.Errorf("wrong merged tokens\ngot:  %#v\nwant: %#v", got, want)
	}
	if ids := tok.Encode("<|endoftext|>"); len(ids) != 1 || !tok.IsSpecial(ids[0]) {
		t.Errorf("special token not matched: %v", ids)
	}
	if _, err := Train(nil, TrainOptions{VocabSize: 100}); err == nil {
		t.Errorf("no error for a vocabulary smaller than the bytes")
	}
}
