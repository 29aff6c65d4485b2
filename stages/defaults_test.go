package stages

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestDefaultsTable checks the "Defaults against RLRR" table of
// docs/stages-models.md against the defaults the kinds decode to: each
// row's "our default" cell must start with the values of a stage decoded
// without that attribute, and every row the test knows must be there, so
// that neither the code nor the table can drift from the paper's values
// alone.
func TestDefaultsTable(t *testing.T) {
	b, err := os.ReadFile("../docs/stages-models.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(b), "### Defaults against RLRR")
	if !ok {
		t.Fatal(`docs/stages-models.md has no "Defaults against RLRR" section`)
	}
	rows := map[string]string{} // "kind attribute cell" → our default
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 6 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") || strings.TrimSpace(cells[1]) == "kind" {
			continue
		}
		rows[strings.TrimSpace(cells[1])+" "+strings.TrimSpace(cells[2])] = strings.TrimSpace(cells[3])
	}

	decode := func(kind, src string) any {
		st, diags := decodeKind(t, kind, src)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		return st
	}
	dpo := decode("dpo", "model = \"m\"\npairs = \"p\"\n").(*dpoStage)
	sft := decode("sft", "model = \"m\"\nprompts = \"p.jsonl\"\nreferences = \"r.jsonl\"\n").(*sftStage)
	lp := decode("logprobs", "model = \"m\"\npairs = \"p\"\n").(*logprobsStage)
	pairs := decode("pairs", "scores = \"s\"\ntokenizer = \"m\"\n").(*pairsStage)
	sample := decode("sample", "model = \"m\"\nprompts = \"p.jsonl\"\n").(*sampleStage)
	score := decode("score", "judge = \"m\"\nsamples = \"s\"\ntemplate = \"t.txt\"\n").(*scoreStage)

	// want lists, per row, the values the cell starts with: numbers are
	// compared as numbers (5e-7 = 5e-07), words as words.
	train := func(kind string, s trainSettings) map[string][]any {
		return map[string][]any{
			kind + " `lr`":                   {s.LR},
			kind + " `schedule`":             {s.Schedule},
			kind + " `warmup_ratio`":         {s.WarmupRatio},
			kind + " `batch` × `grad_accum`": {s.MicroBatch, s.GradAccum, s.MicroBatch * s.GradAccum},
			kind + " `epochs`":               {s.Epochs},
			kind + " `weight_decay`":         {s.WeightDecay},
			kind + " `max_grad_norm`":        {s.MaxGradNorm},
			kind + " `max_len`":              {s.MaxLen},
		}
	}
	want := train("dpo", dpo.t)
	for k, v := range train("sft", sft.t) {
		want[k] = v
	}
	want["dpo `seed`"] = []any{int(dpo.t.Seed)}
	want["sft `eval_every`"] = []any{sft.t.EvalEvery}
	want["dpo `beta`"] = []any{dpo.beta}
	want["dpo `loss`"] = []any{dpo.loss}
	want["dpo `eval_pairs`, `eval_every`"] = []any{"none", dpo.t.EvalEvery}
	want["logprobs `max_len`"] = []any{lp.maxLen}
	want["pairs `max_len`"] = []any{pairs.maxLen}
	want["sample `max_prompt_tokens`"] = []any{sample.gen.MaxPromptTokens}
	want["score `max_judge_tokens`"] = []any{score.maxJudge}

	token := regexp.MustCompile(`-?[0-9]+(\.[0-9]+)?(e-?[0-9]+)?|[a-z]+`)
	for row, values := range want {
		cell, ok := rows[row]
		if !ok {
			t.Errorf("docs/stages-models.md: the RLRR defaults table has no row %q", row)
			continue
		}
		got := token.FindAllString(cell, len(values))
		if len(got) < len(values) {
			t.Errorf("row %q: cell %q has fewer than %d values", row, cell, len(values))
			continue
		}
		for i, v := range values {
			var w float64
			switch v := v.(type) {
			case string:
				if got[i] != v {
					t.Errorf("row %q: the table says %q (%s), the code's default is %q", row, cell, got[i], v)
				}
				continue
			case int:
				w = float64(v)
			case float64:
				w = v
			}
			if g, err := strconv.ParseFloat(got[i], 64); err != nil || g != w {
				t.Errorf("row %q: the table says %q (%s), the code's default is %v", row, cell, got[i], w)
			}
		}
	}
}
