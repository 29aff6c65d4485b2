package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommittedFiles checks that the files in data/ are what Generate
// writes for the default seed. After changing the generator, run
// go run ./data/gen -out data from the repository root.
func TestCommittedFiles(t *testing.T) {
	for name, want := range Generate(DefaultSeed) {
		t.Run(name, func(t *testing.T) {
			got, err := os.ReadFile(filepath.Join("..", name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("data/%s is not what the generator writes; run go run ./data/gen -out data", name)
			}
		})
	}
}

func TestSplit(t *testing.T) {
	train, test := Split(DefaultSeed)
	if len(train) < 300 || len(test) < 60 {
		t.Errorf("wrong sizes\ngot:  %#v\nwant: at least [300 60]", [2]int{len(train), len(test)})
	}
	prompts := map[string]string{}
	tasksIn := map[string]map[string]bool{"train": {}, "test": {}}
	for split, items := range map[string][]item{"train": train, "test": test} {
		for _, it := range items {
			if prev, dup := prompts[it.prompt]; dup {
				t.Errorf("prompt %q is in %s and %s", it.prompt, prev, split)
			}
			prompts[it.prompt] = split
			tasksIn[split][it.task] = true
			if n := len(strings.Fields(it.reference)); n == 0 || n > 20 {
				t.Errorf("reference %q of %q has %d words; keep references short", it.reference, it.prompt, n)
			}
		}
	}
	for split, seen := range tasksIn {
		if len(seen) != len(tasks) {
			t.Errorf("wrong task count in %s\ngot:  %#v\nwant: %#v", split, len(seen), len(tasks))
		}
	}
}

func TestFilesAreJSONLines(t *testing.T) {
	files := Generate(DefaultSeed)
	for _, split := range []string{"train", "test"} {
		p := strings.Split(strings.TrimSuffix(string(files[split+".prompts.jsonl"]), "\n"), "\n")
		r := strings.Split(strings.TrimSuffix(string(files[split+".references.jsonl"]), "\n"), "\n")
		if len(p) != len(r) {
			t.Fatalf("%s: %d prompts but %d references", split, len(p), len(r))
		}
		for i := range p {
			var pl struct{ Prompt string }
			var rl struct{ Text string }
			if err := json.Unmarshal([]byte(p[i]), &pl); err != nil || pl.Prompt == "" {
				t.Errorf("%s prompts line %d: %q (%v)", split, i+1, p[i], err)
			}
			if err := json.Unmarshal([]byte(r[i]), &rl); err != nil || rl.Text == "" {
				t.Errorf("%s references line %d: %q (%v)", split, i+1, r[i], err)
			}
		}
	}
}

func TestSpell(t *testing.T) {
	tests := map[int]string{0: "zero", 7: "seven", 15: "fifteen", 40: "forty", 73: "seventy-three",
		100: "one hundred", 206: "two hundred six", 999: "nine hundred ninety-nine", 810: "eight hundred ten"}
	for n, want := range tests {
		if got := spell(n); got != want {
			t.Errorf("wrong spelling of %d\ngot:  %#v\nwant: %#v", n, got, want)
		}
	}
}

func TestComputedAnswers(t *testing.T) {
	tests := []struct {
		name      string
		got, want any
	}{
		{"prime 2", isPrime(2), true},
		{"prime 1", isPrime(1), false},
		{"prime 49", isPrime(49), false},
		{"prime 53", isPrime(53), true},
		{"reverse", reverse("rocket"), "tekcor"},
		{"times 0", times(0), "zero times"},
		{"times 3", times(3), "3 times"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("wrong answer\ngot:  %#v\nwant: %#v", tt.got, tt.want)
			}
		})
	}
}
