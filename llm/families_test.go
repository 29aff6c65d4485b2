package llm

import (
	"context"
	"os"
	"slices"
	"testing"

	"github.com/refeval/refeval/llm/chat"
	"github.com/refeval/refeval/llm/checkpoint"
)

// TestFamiliesPathsAgree checks, for Qwen3, Mistral with a sliding window and
// Gemma 3 with local and global layers, that the three ways of running a
// model agree where sliding windows and per-layer RoPE bases could make
// them differ: generation through the KV cache against scoring the whole
// sequence, and the shared-prefix judge path against whole prefixes. The
// windows (5 and 6) are shorter than the sequences, so keys leave them.
func TestFamiliesPathsAgree(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		arch string
		edit func(c *checkpoint.Config)
	}{
		{"qwen3", func(c *checkpoint.Config) {}},
		{"mistral", func(c *checkpoint.Config) { c.SlidingWindow = 6 }},
		{"gemma3", func(c *checkpoint.Config) {
			c.NumHiddenLayers, c.SlidingLayers, c.SlidingWindow = 3, []bool{true, false, true}, 5
		}},
	} {
		t.Run(tc.arch, func(t *testing.T) {
			m := newTestModel(t, tc.arch, tc.edit, 4)
			reqs := []GenRequest{{Prompt: prompt(7, 9), Item: "a"}, {Prompt: prompt(8, 3), Item: "b"}}
			checkGenerationScores(t, ctx, m, reqs, SampleParams{N: 2, MaxTokens: 12, Temperature: 1, Seed: 3})

			checkSharedPrefix(t, ctx, m, prompt(100, 17), [][]int{prompt(201, 3), prompt(202, 12)})
		})
	}
}

// TestChatPromptBOS checks that a chat prompt starts with exactly one BOS
// for the SentencePiece families, whose templates write it themselves
// (Gemma 3's own template, refeval's [INST] template for the Llama 2 /
// Mistral file), and that the turn markers are single special tokens.
func TestChatPromptBOS(t *testing.T) {
	for _, tc := range []struct {
		arch, tokenizer string
		fetched         bool
		want            []int // the prompt's first ids
	}{
		// <s> [INST] (733 16289 28793) Hello ... [/INST]
		{"mistral", "../models/tokenizers/llama2/tokenizer.json.gz", false, []int{1, 733, 16289, 28793, 22557}},
		// <bos> <start_of_turn> user \n Hello <end_of_turn> \n <start_of_turn> model \n
		{"gemma3", "../models/tokenizers/gemma3/tokenizer.json", true, []int{2, 105, 2364, 107, 9259, 106, 107, 105, 4368, 107}},
	} {
		t.Run(tc.arch, func(t *testing.T) {
			if _, err := os.Stat(tc.tokenizer); err != nil && tc.fetched && os.Getenv("CI") != "true" {
				t.Skipf("%s is missing (too large to commit: run models/tokenizers/fetch.sh)", tc.tokenizer)
			}
			dir := t.TempDir()
			if _, err := checkpoint.Init(checkpoint.InitOptions{Arch: tc.arch, Size: "tiny", Tokenizer: tc.tokenizer, Seed: 1, Out: dir}); err != nil {
				t.Fatal(err)
			}
			m, err := Load(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			ids, err := m.ChatPrompt([]chat.Message{{Role: "user", Content: "Hello"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) < len(tc.want) || !slices.Equal(ids[:len(tc.want)], tc.want) {
				t.Errorf("wrong chat prompt\ngot:  %v\nwant: %v…", ids, tc.want)
			}
			bos := m.Config().BOSTokenID
			n := 0
			for _, id := range ids {
				if id == bos {
					n++
				}
			}
			if n != 1 {
				t.Errorf("wrong number of BOS tokens (%d) in %v\ngot:  %d\nwant: 1", bos, ids, n)
			}
		})
	}
}
