package slurm

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func decode(t *testing.T, src string) (*Config, hcl.Diagnostics) {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), "p.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	return Decode(f.Body, &hcl.EvalContext{})
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		want    []string // sbatch arguments after the fixed ones, for gpus = 2
		wantErr string   // the first diagnostic's detail, in part
	}{
		{"defaults", ``, []string{"--gpus=2"}, ""},
		{"all", `
partition = "gpu"
account   = "nlp"
time      = "04:00:00"
cpus      = 8
mem       = "64G"
extra     = ["--qos=high"]
max_jobs  = 3
retries   = 2
`, []string{"--partition=gpu", "--account=nlp", "--time=04:00:00", "--cpus-per-task=8", "--mem=64G", "--gpus=2", "--qos=high"}, ""},
		{"gres", `gpu_flag = "gres"`, []string{"--gres=gpu:2"}, ""},
		{"days", `time = "2-12:00:00"`, []string{"--time=2-12:00:00", "--gpus=2"}, ""},
		{"bad time", `time = "4h"`, nil, `time "4h" is not a Slurm time limit`},
		{"bad mem", `mem = "64GB"`, nil, `mem "64GB" is not a Slurm memory size`},
		{"bad max_jobs", `max_jobs = -1`, nil, "max_jobs is how many jobs"},
		{"bad retries", `retries = -2`, nil, "retries is how many times"},
		{"bad poll", `poll = "1ms"`, nil, `poll "1ms" is not a duration`},
		{"bad gpu_flag", `gpu_flag = "cuda"`, nil, `gpu_flag "cuda" is neither`},
		{"unknown", `partitions = "gpu"`, nil, `An argument named "partitions" is not expected here`},
		{"cpus not a number", `cpus = "eight"`, nil, "cpus must be a whole number"},
		{"cpus fraction", `cpus = 1.5`, nil, "cpus must be a whole number"},
		{"extra not a list", `extra = "--qos=high"`, nil, "extra must be a list of strings"},
		{"null is unset", `partition = null`, []string{"--gpus=2"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, diags := decode(t, tt.src)
			if tt.wantErr != "" {
				if !diags.HasErrors() || !strings.Contains(diags[0].Detail, tt.wantErr) {
					t.Fatalf("wrong diagnostics\ngot:  %v\nwant: %s", diags, tt.wantErr)
				}
				if diags[0].Subject == nil || diags[0].Subject.Start.Line == 0 {
					t.Errorf("diagnostic has no source range: %v", diags[0])
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			args := c.sbatchArgs("refeval:exec.x", "/p", "/c/jobs/j/slurm.log", 2)
			fixed := []string{"--parsable", "--job-name=refeval:exec.x", "--output=/c/jobs/j/slurm.log", "--open-mode=append", "--chdir=/p", "--export=ALL"}
			if d := cmp.Diff(fixed, args[:len(fixed)]); d != "" {
				t.Errorf("wrong fixed arguments (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.want, args[len(fixed):]); d != "" {
				t.Errorf("wrong arguments (-want +got):\n%s", d)
			}
			if c.MaxJobs <= 0 {
				t.Errorf("max_jobs %d; want a positive default", c.MaxJobs)
			}
		})
	}
	c, _ := decode(t, ``)
	if args := c.sbatchArgs("n", "/p", "/l", 0); strings.Contains(strings.Join(args, " "), "gpu") {
		t.Errorf("a CPU stage asks for GPUs: %v", args)
	}
}

func TestParseSlurmOutput(t *testing.T) {
	ids := []struct{ out, want, err string }{
		{"42\n", "42", ""},
		{"42;cluster\n", "42", ""},
		{"sbatch: warning: something\n43\n", "43", ""},
		{"sbatch: error: Batch job submission failed\n", "", "not a job id"},
	}
	for _, tt := range ids {
		got, err := parseJobID(tt.out)
		if got != tt.want || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("parseJobID(%q) = %q, %v; want %q, %q", tt.out, got, err, tt.want, tt.err)
		}
	}

	q := parseSqueue("12 RUNNING None\n13 PENDING Resources\n\n14 PENDING ReqNodeNotAvail, Reserved for maintenance\n")
	want := map[string]jobState{"12": {State: "RUNNING", Reason: "None"}, "13": {State: "PENDING", Reason: "Resources"},
		"14": {State: "PENDING", Reason: "ReqNodeNotAvail, Reserved for maintenance"}}
	if d := cmp.Diff(want, q, cmp.AllowUnexported(jobState{})); d != "" {
		t.Errorf("wrong squeue states (-want +got):\n%s", d)
	}
	if got := q["12"].String(); got != "RUNNING" {
		t.Errorf("wrong state text %q", got)
	}
	if got := q["13"].String(); got != "PENDING (Resources)" {
		t.Errorf("wrong state text %q", got)
	}

	e, ok := parseScontrol("JobId=33 JobName=refeval:exec.victim UserId=root(0) JobState=CANCELLED Reason=None Dependency=(null) ExitCode=0:15 RunTime=00:00:01")
	if !ok || e != (ending{State: "CANCELLED", ExitCode: "0:15", Reason: "None"}) {
		t.Errorf("wrong scontrol ending %#v", e)
	}
	if _, ok := parseScontrol("slurm_load_jobs error: Invalid job id specified"); ok {
		t.Errorf("an scontrol error parsed as an ending")
	}
	e, ok = parseSacct("CANCELLED by 0|0:15\n")
	if !ok || e != (ending{State: "CANCELLED", ExitCode: "0:15"}) {
		t.Errorf("wrong sacct ending %#v", e)
	}

	for code, want := range map[string]string{"1:0": "exit status 1", "0:9": "killed by signal 9", "": "no exit code", "0:0": "exit status 0"} {
		if got := exitText(code); got != want {
			t.Errorf("exitText(%q) = %q; want %q", code, got, want)
		}
	}
	for state, want := range map[string]bool{"PENDING": false, "RUNNING": false, "COMPLETING": false, "COMPLETED": true, "NODE_FAIL": true, "PREEMPTED": true, "TIMEOUT": true} {
		if ended(state) != want {
			t.Errorf("ended(%s) = %v; want %v", state, !want, want)
		}
	}
}

// TestJobScriptQuotes runs the job script of a stage whose address and
// refeval path hold quotes, a newline and command substitutions, on a node
// that cannot see the binary: the script must say so, naming the path as
// it is, and run nothing else.
func TestJobScriptQuotes(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	bin := filepath.Join(dir, "my \"refeval\" $(touch "+marker+") `touch "+marker+"`", "refeval")
	s := jobScript("stage.exec.x[\"it's\n touch "+marker+"\"]", bin, filepath.Join(dir, "a'b", "spec.json"))
	p := filepath.Join(dir, "job.sh")
	if err := os.WriteFile(p, []byte(s), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sh", p).CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 97 {
		t.Fatalf("job script on a node without the binary: %v, want exit status 97\n%s\nscript:\n%s", err, out, s)
	}
	if want := "cannot run " + bin + ": the refeval binary must be on a file system the nodes share"; !strings.Contains(string(out), want) {
		t.Errorf("job script said:\n%s\nwant it to say %q", out, want)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("the job script ran a command from the address or the path:\n%s", s)
	}
	if want := "exec " + shellQuote(bin) + " run-stage '" + dir + "/a'\\''b/spec.json'"; !strings.Contains(s, want) {
		t.Errorf("job script lacks %q:\n%s", want, s)
	}
}

// TestBlock checks the registered block type: its schema is every
// attribute Config declares, and its decoder is Decode's.
func TestBlock(t *testing.T) {
	want := []string{"account", "cpus", "extra", "gpu_flag", "max_jobs", "mem", "partition", "poll", "refeval", "retries", "time"}
	if d := cmp.Diff(want, Block.Attributes); d != "" {
		t.Errorf("wrong attributes (-want +got):\n%s", d)
	}
	f, diags := hclsyntax.ParseConfig([]byte("executor \"slurm\" \"x\" {\n  mem = \"64G\"\n}\n"), "p.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	v, diags := Block.Decode(f.Body.(*hclsyntax.Body).Blocks[0].AsHCLBlock(), &hcl.EvalContext{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if c, ok := v.(*Config); !ok || c.Mem != "64G" || c.MaxJobs != DefaultMaxJobs {
		t.Errorf("wrong decoded block: %#v", v)
	}
}
