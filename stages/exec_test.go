package stages

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/refeval/refeval/engine"
)

// decodeExecSrc decodes an exec stage body.
func decodeExecSrc(t *testing.T, src string) (*execStage, hcl.Diagnostics) {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), "p.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	st, diags := decodeExec(f.Body, &hcl.EvalContext{})
	return st.(*execStage), diags
}

func TestDecodeExec(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		want      execStage
		wantError string // a diagnostic's summary; "" for none
	}{
		{"command only", `command = ["sh", "-c", "true"]`, execStage{command: []string{"sh", "-c", "true"}, env: map[string]string{}}, ""},
		{"inputs and env", "command = [\"true\"]\ninputs = [\"a.txt\", \"d\"]\nenv = { A = \"1\" }", execStage{command: []string{"true"}, inputs: []string{"a.txt", "d"}, env: map[string]string{"A": "1"}}, ""},
		{"numbers become strings", `command = ["sleep", 1]`, execStage{command: []string{"sleep", "1"}, env: map[string]string{}}, ""},
		{"missing command", `inputs = ["a"]`, execStage{}, "Missing required argument"},
		{"empty command", `command = []`, execStage{}, "Empty Command"},
		{"command not a list", `command = "echo hi"`, execStage{}, "Incorrect Attribute Type"},
		{"null command", `command = null`, execStage{}, "Incorrect Attribute Type"},
		{"env not a map", `
command = ["true"]
env = ["A=1"]`, execStage{}, "Incorrect Attribute Type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, diags := decodeExecSrc(t, tt.src)
			if tt.wantError != "" {
				var got []string
				for _, d := range diags {
					got = append(got, d.Summary)
				}
				if !diags.HasErrors() || !strings.Contains(strings.Join(got, "|"), tt.wantError) {
					t.Errorf("wrong diagnostics\ngot:  %#v\nwant: %#v", got, tt.wantError)
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			if strings.Join(st.command, "\x00") != strings.Join(tt.want.command, "\x00") ||
				strings.Join(st.inputs, "\x00") != strings.Join(tt.want.inputs, "\x00") ||
				len(st.env) != len(tt.want.env) {
				t.Errorf("wrong stage\ngot:  %#v\nwant: %#v", *st, tt.want)
			}
			for k, v := range tt.want.env {
				if st.env[k] != v {
					t.Errorf("wrong env %s\ngot:  %#v\nwant: %#v", k, st.env[k], v)
				}
			}
		})
	}
}

// runExec runs an exec stage in a fresh folder and returns its error and log.
func runExec(t *testing.T, ctx context.Context, st *execStage, devices []int) (string, error) {
	t.Helper()
	out := t.TempDir()
	var log bytes.Buffer
	err := st.Run(ctx, &engine.RunContext{Addr: "stage.exec.t", Dir: t.TempDir(), Out: out, Log: &log, Devices: devices})
	return out + "\n" + log.String(), err
}

func TestExecRun(t *testing.T) {
	t.Run("env, OUT and devices", func(t *testing.T) {
		st := &execStage{
			command: []string{"sh", "-c", `echo "$A $CUDA_VISIBLE_DEVICES" > "$OUT/r.txt"; echo logged`},
			env:     map[string]string{"A": "from-env"},
		}
		res, err := runExec(t, context.Background(), st, []int{2, 3})
		if err != nil {
			t.Fatal(err)
		}
		out, log, _ := strings.Cut(res, "\n")
		got, err := os.ReadFile(filepath.Join(out, "r.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "from-env 2,3\n" {
			t.Errorf("wrong output\ngot:  %#v\nwant: %#v", string(got), "from-env 2,3\n")
		}
		if log != "logged\n" {
			t.Errorf("wrong log\ngot:  %#v\nwant: %#v", log, "logged\n")
		}
	})
	t.Run("failing command names itself", func(t *testing.T) {
		st := &execStage{command: []string{"sh", "-c", "exit 3"}}
		_, err := runExec(t, context.Background(), st, nil)
		if err == nil || !strings.Contains(err.Error(), "sh -c exit 3") || !strings.Contains(err.Error(), "exit status 3") {
			t.Errorf("wrong error\ngot:  %v\nwant: the command and its exit status", err)
		}
	})
	t.Run("missing program", func(t *testing.T) {
		st := &execStage{command: []string{"refeval-no-such-program"}}
		_, err := runExec(t, context.Background(), st, nil)
		if err == nil || !strings.Contains(err.Error(), "refeval-no-such-program") {
			t.Errorf("wrong error\ngot:  %v\nwant: one naming the program", err)
		}
	})
	t.Run("cancel stops the process group", func(t *testing.T) {
		// The shell starts a child that would outlive a kill of the shell
		// alone; cancelling must stop both within the grace period.
		st := &execStage{command: []string{"sh", "-c", "sleep 30 & wait"}}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		_, err := runExec(t, ctx, st, nil)
		if err != context.Canceled {
			t.Errorf("wrong error\ngot:  %v\nwant: %v", err, context.Canceled)
		}
		if d := time.Since(start); d > execGrace+5*time.Second {
			t.Errorf("cancelled command took %v to stop; want under %v", d, execGrace+5*time.Second)
		}
	})
}

// TestExecLeftovers checks that processes an exec command leaves running
// are killed before Run returns, so that nothing they would write later
// reaches the output, and that the stage warns about them.
func TestExecLeftovers(t *testing.T) {
	tests := []struct {
		name     string
		script   string
		escapes  bool // the leftover leaves the process group (needs a cgroup)
		wantWarn bool
	}{
		{"clean command", `echo main > "$OUT/main.txt"`, false, false},
		{"waited background child", `(echo late > "$OUT/late.txt") & wait; echo main > "$OUT/main.txt"`, false, false},
		{"background child", `(sleep 0.5; echo late > "$OUT/late.txt") & echo main > "$OUT/main.txt"`, false, true},
		{"child holding the output open", `sleep 0.5 > "$OUT/late.txt" & echo main > "$OUT/main.txt"`, false, true},
		{"child in its own session", `setsid sh -c 'sleep 0.5; echo late > "$OUT/late.txt"' & echo main > "$OUT/main.txt"`, true, true},
	}
	for _, tt := range tests {
		for _, logKind := range []string{"file", "buffer"} {
			t.Run(tt.name+"/"+logKind, func(t *testing.T) {
				if tt.escapes && !cgroupsUsable() {
					if cgroupsAllowed(t) {
						t.Fatal("cgroupsUsable says no, but this process may create a child of its cgroup v2 folder")
					}
					t.Skip("no cgroup v2 folder refeval may create here; a process that leaves its group is not found")
				}
				out := t.TempDir()
				var log io.Writer = &bytes.Buffer{}
				if logKind == "file" {
					f, err := os.Create(filepath.Join(t.TempDir(), "log"))
					if err != nil {
						t.Fatal(err)
					}
					defer f.Close()
					log = f
				}
				var warnings []string
				st := &execStage{command: []string{"sh", "-c", tt.script}}
				rc := &engine.RunContext{Addr: "stage.exec.t", Dir: t.TempDir(), Out: out, Log: log,
					Warn: func(msg string) { warnings = append(warnings, msg) }}
				if err := st.Run(context.Background(), rc); err != nil {
					t.Fatal(err)
				}
				before := listDir(t, out)
				time.Sleep(800 * time.Millisecond) // longer than any leftover would need
				if after := listDir(t, out); after != before {
					t.Errorf("output changed after Run returned\ngot:  %s\nwant: %s", after, before)
				}
				if !strings.Contains(before, "main.txt") {
					t.Errorf("wrong output\ngot:  %s\nwant: main.txt in it", before)
				}
				if got := len(warnings) > 0; got != tt.wantWarn {
					t.Errorf("wrong warning\ngot:  %q\nwant one: %v", warnings, tt.wantWarn)
				}
				if tt.wantWarn && len(warnings) > 0 && !strings.Contains(warnings[0], "process(es) running: pid ") {
					t.Errorf("wrong warning\ngot:  %q\nwant: it names the process left running", warnings[0])
				}
			})
		}
	}
}

// listDir names the files of dir with their sizes.
func listDir(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, fmt.Sprintf("%s:%d", e.Name(), fi.Size()))
	}
	return strings.Join(parts, " ")
}
