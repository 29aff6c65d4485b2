package stages

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPromptTruncation cuts prompts as the paper's code does: sample's
// chat-templated prompts to max_prompt_tokens, the judge's to
// max_judge_tokens (then the answer prefix). Cut before the outputs,
// every pair of a prompt gets the same verdict.
func TestPromptTruncation(t *testing.T) {
	d := newDemo(t, 4)
	d.tinyPolicy()
	prompts := `{"prompt": "Name a fruit that is red."}` + "\n" + `{"prompt": "Why is the sky blue at noon?"}` + "\n"
	if err := os.WriteFile(filepath.Join(d.dir, "two.jsonl"), []byte(prompts), 0o666); err != nil {
		t.Fatal(err)
	}
	// The tiny random model's greedy answer hardly depends on the prompt,
	// so the check samples (temperature 1): a prompt cut to its first 3
	// tokens gets other answers than the whole prompt, a limit the prompts
	// do not reach changes nothing.
	texts := map[string]string{}
	for _, max := range []string{"", "max_prompt_tokens = 3", "max_prompt_tokens = 100000"} {
		out := d.run("sample", "sample-"+strings.TrimPrefix(max, "max_prompt_tokens = "), `model = "init"
prompts = "two.jsonl"
n = 3
temperature = 1
top_p = 1
max_tokens = 8
`+max)
		b, err := os.ReadFile(filepath.Join(out, SamplesFile))
		if err != nil {
			t.Fatal(err)
		}
		texts[max] = string(b)
	}
	if texts[""] == texts["max_prompt_tokens = 3"] {
		t.Errorf("prompts cut to 3 tokens were answered as the whole prompts:\n%s", texts[""])
	}
	if texts[""] != texts["max_prompt_tokens = 100000"] {
		t.Errorf("a limit no prompt reaches changed the answers:\n%s\n%s", texts[""], texts["max_prompt_tokens = 100000"])
	}

	d.run("sample", "sample", `model = "init"
prompts = "train.prompts.jsonl"
n = 3
max_tokens = 4`)
	for _, tt := range []struct {
		name, max string
		wantSame  bool
	}{{"cut", "max_judge_tokens = 12", true}, {"whole", "", false}} {
		for _, mode := range []string{"logprobs", "generate"} {
			out := d.run("score", "score-"+tt.name+"-"+mode, `judge = "init"
samples = "sample"
references = "train.references.jsonl"
template = "judge.txt"
top_logprobs = 0
mode = "`+mode+`"
`+tt.max)
			lines, err := ReadJSONL[ScoreLine](filepath.Join(out, ScoresFile))
			if err != nil {
				t.Fatal(err)
			}
			c := lines[0].Comparisons
			same := true
			for _, x := range c[1:] {
				same = same && *x.LogprobA == *c[0].LogprobA && *x.LogprobB == *c[0].LogprobB
			}
			if same != tt.wantSame {
				t.Errorf("%s %s: all pairs of a prompt got the same verdict: %v, want %v", tt.name, mode, same, tt.wantSame)
			}
		}
	}
}

// TestTruncationRejectedForEndpoints checks that max_prompt_tokens and
// max_judge_tokens, which an endpoint (tokenizing on its server) cannot
// honour, are load-time errors there.
func TestTruncationRejectedForEndpoints(t *testing.T) {
	model := `{ endpoint = "http://h/v1", name = "m" }`
	for _, tt := range []struct {
		kind, src, want string
	}{
		{"sample", "model = " + model + "\nprompts = \"p.jsonl\"\nmax_prompt_tokens = 100", "Invalid max_prompt_tokens"},
		{"reference", "model = " + model + "\nprompts = \"p.jsonl\"\nmax_prompt_tokens = 100", "Invalid max_prompt_tokens"},
		{"eval", "policy = " + model + "\nprompts = \"p.jsonl\"\nreferences = \"r.jsonl\"\nmax_prompt_tokens = 100", "Invalid max_prompt_tokens"},
		{"score", "judge = " + model + "\nsamples = \"s\"\ntemplate = \"t.txt\"\nmax_judge_tokens = 100", "Invalid max_judge_tokens"},
	} {
		t.Run(tt.kind, func(t *testing.T) {
			_, diags := decodeKind(t, tt.kind, tt.src)
			if !diags.HasErrors() || diags[0].Summary != tt.want {
				t.Errorf("wrong diagnostics\ngot:  %v\nwant: %s", diags, tt.want)
			}
		})
	}
	for _, src := range []string{"model = \"m\"\nprompts = \"p.jsonl\"\nmax_prompt_tokens = 100", "model = " + model + "\nprompts = \"p.jsonl\""} {
		if _, diags := decodeKind(t, "sample", src); diags.HasErrors() {
			t.Errorf("rejected: %v\n%s", diags, src)
		}
	}
}
