package stages

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refeval/refeval/engine"
)

// writeRefusalPairs writes pairs.jsonl into dir/name: for the first n
// prompts of file, the reference answer (chosen) against a refusal.
func (d *demo) writeRefusalPairs(name, promptsFile, refsFile string, n int) {
	d.t.Helper()
	prompts, err := readPrompts(d.dir, promptsFile, n)
	if err != nil {
		d.t.Fatal(err)
	}
	refs, err := readTexts(d.dir, refsFile, len(prompts))
	if err != nil {
		d.t.Fatal(err)
	}
	var pairs []Pair
	for i, p := range prompts {
		pairs = append(pairs, Pair{Prompt: p, Chosen: Conversation(p, refs[i]), Rejected: Conversation(p, "I do not know.")})
	}
	if err := os.MkdirAll(filepath.Join(d.dir, name), 0o777); err != nil {
		d.t.Fatal(err)
	}
	if err := WriteJSONL(filepath.Join(d.dir, name, PairsFile), pairs); err != nil {
		d.t.Fatal(err)
	}
}

// runDPO runs a dpo stage granted devices into a fresh folder, and returns
// the folder, the log and the error.
func (d *demo) runDPO(name, src string, devices []int) (string, string, error) {
	d.t.Helper()
	st, diags := decodeKind(d.t, "dpo", src)
	if diags.HasErrors() {
		d.t.Fatal(diags)
	}
	out := filepath.Join(d.dir, name)
	if err := os.MkdirAll(out, 0o777); err != nil {
		d.t.Fatal(err)
	}
	var log bytes.Buffer
	err := st.Run(context.Background(), &engine.RunContext{Addr: "stage.dpo." + name, Dir: d.dir, Out: out, Log: &log, Devices: devices})
	return out, log.String(), err
}

// TestDPOStageRLRRSettings runs the dpo kind as RLRR's dpo.py would be
// run: 40 training pairs, 8 held-out pairs from other prompts
// (eval_pairs), the default settings.
func TestDPOStageRLRRSettings(t *testing.T) {
	d := newDemo(t, 40)
	d.tinyPolicy()
	d.writeRefusalPairs("pairs", "train.prompts.jsonl", "train.references.jsonl", 40)
	d.writeRefusalPairs("pairsval", "test.prompts.jsonl", "test.references.jsonl", 8)
	d.run("logprobs", "lp", "model = \"init\"\npairs = \"pairs\"")
	d.run("logprobs", "lpval", "model = \"init\"\npairs = \"pairsval\"")
	init, err := os.ReadFile(filepath.Join(d.dir, "init", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	const base = "model = \"init\"\npairs = \"lp\"\neval_pairs = \"lpval\"\n"

	t.Run("40 pairs change the weights", func(t *testing.T) {
		// One step of the global batch of 64, warmup int(0.1 × 1) = 0 steps:
		// the step runs at lr 5e-7, so the saved weights differ.
		out, log, err := d.runDPO("defaults", base, nil)
		if err != nil {
			t.Fatalf("%v\n%s", err, log)
		}
		var m TrainMetrics
		readJSON(t, filepath.Join(out, MetricsFile), &m)
		if m.Examples != 40 || m.EvalExamples != 8 || m.Steps != 1 || m.BestStep != 1 || m.EvalLoss == nil {
			t.Errorf("wrong metrics\ngot:  %+v\nwant: 40 pairs, 8 held out, 1 step, best step 1 with an eval loss", m)
		}
		got, err := os.ReadFile(filepath.Join(out, "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(got, init) {
			t.Errorf("the saved weights equal the starting ones")
		}
	})

	t.Run("gpus = 2 keeps the batch", func(t *testing.T) {
		// Global batch 4 × 2 = 8: 5 steps, whatever the replicas.
		out, log, err := d.runDPO("gpus2", base+"lr = 1e-3\nbatch = 4\ngrad_accum = 2\n", []int{0, 1})
		if err != nil {
			t.Fatalf("%v\n%s", err, log)
		}
		var m TrainMetrics
		readJSON(t, filepath.Join(out, MetricsFile), &m)
		if m.Steps != 5 || !strings.Contains(log, "5 steps of 8 pairs (2 replicas)") {
			t.Errorf("wrong steps\ngot:  %d\nwant: 5 (40 pairs in global batches of 8)\nlog:\n%s", m.Steps, log)
		}
	})

	t.Run("limit", func(t *testing.T) {
		out, log, err := d.runDPO("limit", base+"lr = 1e-3\nlimit = 10\nbatch = 5\ngrad_accum = 1\n", nil)
		if err != nil {
			t.Fatalf("%v\n%s", err, log)
		}
		var m TrainMetrics
		readJSON(t, filepath.Join(out, MetricsFile), &m)
		if m.Examples != 10 || m.Steps != 2 {
			t.Errorf("wrong run\ngot:  %d pairs, %d steps\nwant: 10 pairs, 2 steps", m.Examples, m.Steps)
		}
	})

	t.Run("no update is an error", func(t *testing.T) {
		out, _, err := d.runDPO("noupdate", base+"warmup_ratio = 1\n", nil)
		if err == nil || !strings.Contains(err.Error(), "learning rate 0") || !strings.Contains(err.Error(), "nothing was saved") {
			t.Errorf("wrong error\ngot:  %v\nwant: …learning rate 0…nothing was saved", err)
		}
		if _, err := os.Stat(filepath.Join(out, "model.safetensors")); err == nil {
			t.Errorf("a checkpoint was written")
		}
	})
}

func TestDPODecodeEvalPairs(t *testing.T) {
	_, diags := decodeKind(t, "dpo", "model = \"m\"\npairs = \"p\"\neval_pairs = \"v\"\neval_fraction = 0.2\n")
	if len(diags) != 1 || diags[0].Summary != "Two held-out sets" || diags[0].Subject.Start.Line != 4 {
		t.Errorf("wrong diagnostics\ngot:  %v\nwant: Two held-out sets at line 4", diags)
	}
	st, diags := decodeKind(t, "dpo", "model = \"m\"\npairs = \"p\"\neval_pairs = \"v\"\n")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got := st.Inputs(); len(got) != 3 || got[2] != "v" {
		t.Errorf("wrong inputs\ngot:  %v\nwant: [m p v]", got)
	}
}
