package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refeval/refeval/llm/tokenizer"
)

const gpt2File = "../../models/tokenizers/gpt2/tokenizer.json"

func TestTokenizeLines(t *testing.T) {
	tok, err := tokenizer.Load(gpt2File)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, in, want, err string
		decode, skip        bool
	}{
		{name: "encode", in: "\"Hello world\"\n\"\"\n\"<|endoftext|> x\"", want: "[15496,995]\n[]\n[50256,2124]\n"},
		{name: "decode", in: "[15496,995]\n[]\n[50256,2124]\n", decode: true, want: "\"Hello world\"\n\"\"\n\"<|endoftext|> x\"\n"},
		{name: "decode skip special", in: "[50256,2124]\n", decode: true, skip: true, want: "\" x\"\n"},
		{name: "not a string", in: "\"ok\"\n42\n", want: "[482]\n", err: "stdin:2: want a JSON string"},
		{name: "bad id", in: "[1]\n[99999999]\n", decode: true, want: "\"\\\"\"\n", err: "stdin:2: token id 99999999 is out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := tokenizeLines(context.Background(), tok, strings.NewReader(tc.in), &out, tc.decode, tc.skip)
			if got := out.String(); got != tc.want {
				t.Errorf("wrong output\ngot:  %#v\nwant: %#v", got, tc.want)
			}
			if (err == nil) != (tc.err == "") || err != nil && !strings.Contains(err.Error(), tc.err) {
				t.Errorf("wrong error\ngot:  %v\nwant: %q", err, tc.err)
			}
		})
	}
}

func TestTokenizerTrain(t *testing.T) {
	dir := t.TempDir()
	corpus := filepath.Join(dir, "corpus.txt")
	if err := os.WriteFile(corpus, []byte(strings.Repeat("the cat sat on the mat. ", 50)), 0o666); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "tokenizer.json")
	var stderr bytes.Buffer
	if code := run([]string{"tokenizer", "train", "--vocab", "270", "--out", out, corpus}, &stderr); code != 0 {
		t.Fatalf("wrong exit status %d: %s", code, stderr.String())
	}
	tok, err := tokenizer.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tok.VocabSize(), 270; got != want {
		t.Errorf("wrong vocab size\ngot:  %#v\nwant: %#v", got, want)
	}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"tokenizer"}, 2},
		{[]string{"tokenizer", "fit", corpus}, 2},
		{[]string{"tokenizer", "train", corpus}, 2},
		{[]string{"tokenizer", "train", "--out", out}, 2},
		{[]string{"tokenizer", "train", "--vocab", "10", "--out", out, corpus}, 2},
		{[]string{"tokenizer", "train", "--out", out, filepath.Join(dir, "missing.txt")}, 1},
		{[]string{"tokenize"}, 2},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			resetFlags(cmdTokenizer, cmdTokenize)
			var stderr bytes.Buffer
			if code := run(tc.args, &stderr); code != tc.code {
				t.Errorf("wrong exit status\ngot:  %#v\nwant: %#v\n%s", code, tc.code, stderr.String())
			}
		})
	}
}

// resetFlags sets the commands' flags back to their defaults: run parses into
// package variables, which keep the values of an earlier run.
func resetFlags(cmds ...*Command) {
	for _, c := range cmds {
		c.Flag.VisitAll(func(f *flag.Flag) { f.Value.Set(f.DefValue) })
	}
}
