package slurm

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/refeval/refeval/cache"
	"github.com/refeval/refeval/engine"
)

// fakeSlurm puts sbatch, squeue, scontrol, sacct and scancel on PATH that
// run each job at once, in the foreground, and tell how it ended from its
// exit status: 0 COMPLETED, 42 NODE_FAIL, anything else FAILED; with
// FAKE_NO_ENDING set, scontrol and sacct fail. It returns the folder of
// the fake's state, where the file scancel lists the jobs cancelled.
func fakeSlurm(t *testing.T) string {
	t.Helper()
	bin := t.TempDir()
	state := t.TempDir()
	scripts := map[string]string{
		"sbatch": `#!/bin/sh
if [ -n "$FAKE_SBATCH_FLAKY" ] && [ ! -e ` + state + `/flaked ]; then
	touch ` + state + `/flaked
	echo "sbatch: error: Batch job submission failed: Socket timed out on send/recv operation" >&2
	exit 1
fi
out= ; for a in "$@"; do case $a in --output=*) out=${a#--output=};; esac; script=$a; done
n=$(($(cat ` + state + `/n 2>/dev/null || echo 0) + 1)); echo $n > ` + state + `/n
sh "$script" >> "$out" 2>&1; echo $? > ` + state + `/$n.exit
echo $n
`,
		"squeue":  "#!/bin/sh\nexit 0\n",
		"scancel": "#!/bin/sh\necho \"$@\" >> " + state + "/scancel\n",
		"sacct":   "#!/bin/sh\necho 'sacct: error: Problem talking to the database: Connection refused' >&2\nexit 1\n",
		"scontrol": `#!/bin/sh
if [ -n "$FAKE_NO_ENDING" ]; then echo "scontrol: error: Unable to contact slurm controller" >&2; exit 1; fi
for id; do :; done
e=$(cat ` + state + `/$id.exit)
case $e in
0) echo "JobId=$id JobState=COMPLETED Reason=None ExitCode=0:0";;
42) echo "JobId=$id JobState=NODE_FAIL Reason=NodeDown ExitCode=0:0";;
*) echo "JobId=$id JobState=FAILED Reason=NonZeroExitCode ExitCode=$e:0";;
esac
`,
	}
	for name, src := range scripts {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(src), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	return state
}

// fakeRefeval writes a refeval stand-in for the job: each attempt adds a
// memo record (key "item<attempt>"), then the attempts listed in fails
// exit with their code (a first attempt exiting 42, NODE_FAIL, first leaves
// a read-only folder in $FAKE_OUT), and the others succeed with an empty
// output.
func fakeRefeval(t *testing.T, exits string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "refeval")
	src := `#!/bin/sh
dir=$(dirname "$2")
n=$(($(cat "$dir/attempt" 2>/dev/null || echo 0) + 1)); echo $n > "$dir/attempt"
printf '\005item%s\001v' $n >> "$dir/memo.out"
echo "attempt $n on the node"
code=$(echo "` + exits + `" | cut -d' ' -f$n)
if [ "$code" = 42 ] && [ $n = 1 ]; then mkdir -p "$FAKE_OUT/partial/ro"; echo x > "$FAKE_OUT/partial/ro/f"; chmod 555 "$FAKE_OUT/partial/ro"; fi
if [ -n "$code" ] && [ "$code" != 0 ]; then echo "stage broke" > "$dir/error.txt"; exit $code; fi
echo '{"output_id":"` + cache.OutputIDOf(nil).String() + `","files":0,"host":"fake"}' > "$dir/result.json"
`
	if err := os.WriteFile(p, []byte(src), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRunJobs runs the executor against the fake Slurm: a job that ends
// NODE_FAIL is sent again while retries last, into an output folder
// emptied of what the failed attempt left (read-only folders included), a
// failure says Slurm's state, exit code and the stage's error, a job whose
// ending Slurm cannot tell is cancelled, and the memos every attempt added
// reach the cache, failed attempts included.
func TestRunJobs(t *testing.T) {
	tests := []struct {
		name      string
		exits     string // exit status of each attempt
		retries   int
		flaky     bool // sbatch times out once
		noEnding  bool // scontrol and sacct cannot say how a job ended
		wantErr   string
		wantMemos []string
	}{
		{"ok", "0", 0, false, false, "", []string{"item1"}},
		{"sbatch timed out once", "0", 0, true, false, "", []string{"item1"}},
		{"node fail then ok", "42 0", 1, false, false, "", []string{"item1", "item2"}},
		{"node fail, no retries left", "42 42 0", 1, false, false, "slurm job 2 NODE_FAIL (exit status 0, reason NodeDown): stage broke", []string{"item1", "item2"}},
		{"failed is not retried", "3 0", 2, false, false, "slurm job 1 FAILED (exit status 3, reason NonZeroExitCode): stage broke", []string{"item1"}},
		{"ending unknown", "0", 0, false, true, "neither scontrol nor sacct knows how job 1 ended", []string{"item1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := fakeSlurm(t)
			if tt.noEnding {
				t.Setenv("FAKE_NO_ENDING", "1")
			}
			if tt.flaky {
				t.Setenv("FAKE_SBATCH_FLAKY", "1")
			}
			submitBackoff = 10 * time.Millisecond
			c, err := cache.Open(filepath.Join(t.TempDir(), "cache"), cache.Options{NoWait: true})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			out, err := c.NewOutputDir()
			if err != nil {
				t.Fatal(err)
			}
			cfg, diags := decode(t, `poll = "100ms"`)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			cfg.Retries = tt.retries
			t.Setenv("FAKE_OUT", out) // the first attempt of a NODE_FAIL job leaves output there
			cfg.Refeval = fakeRefeval(t, tt.exits)
			ex, err := New("slurm.test", cfg)
			if err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			var states []string
			task := &engine.Task{
				RunContext: engine.RunContext{Addr: "stage.exec.x", Out: out, Log: &log, Memo: c.Memo("exec")},
				Pipeline:   &engine.Pipeline{File: "/p/p.hcl", Dir: t.TempDir()},
				Instance:   &engine.Instance{Addr: "stage.exec.x"},
				Action:     cache.DigestBytes([]byte(tt.name)),
				Cache:      c,
				State:      func(s string) { states = append(states, s) },
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = ex.Run(ctx, task)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("%v\nlog:\n%s", err, log.String())
				}
				if task.OutputID != cache.OutputIDOf(nil) {
					t.Errorf("wrong OutputID %s", task.OutputID)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("wrong error\ngot:  %v\nwant: %s", err, tt.wantErr)
			}
			var memos []string
			c.Memo("exec").Each(func(k string, _ []byte) error { memos = append(memos, k); return nil })
			if strings.Join(memos, " ") != strings.Join(tt.wantMemos, " ") {
				t.Errorf("wrong memos in the cache\ngot:  %v\nwant: %v", memos, tt.wantMemos)
			}
			if !strings.Contains(log.String(), "attempt 1 on the node") {
				t.Errorf("the job's log is not in the stage's log:\n%s", log.String())
			}
			if strings.HasPrefix(tt.exits, "42") && !strings.Contains(strings.Join(states, "\n"), "NODE_FAIL; sending it again (retry 1 of") {
				t.Errorf("no retry state in %q", states)
			}
			if b, _ := os.ReadFile(filepath.Join(state, "scancel")); tt.noEnding != (string(b) == "1\n") {
				t.Errorf("scancel called with %q; want job 1 cancelled only when its ending is unknown", b)
			}
			if ents, _ := os.ReadDir(out); len(ents) != 0 {
				t.Errorf("output of a failed attempt left in %s: %v", out, ents)
			}
			if ents, _ := os.ReadDir(filepath.Join(c.Dir(), "jobs")); len(ents) != 0 {
				t.Errorf("job folders left: %v", ents)
			}
		})
	}
}
