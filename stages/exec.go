package stages

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/refeval/refeval/engine"
)

// execGrace is how long a cancelled command's process group has between
// SIGTERM and SIGKILL: long enough for a shell script to clean up, short
// enough that Ctrl-C feels immediate.
const execGrace = 3 * time.Second

func init() {
	Register(&engine.Kind{
		Name:    "exec",
		Version: "1",
		Schema:  execSchema,
		Decode:  decodeExec,
	})
}

var execSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "command", Required: true},
	{Name: "inputs"},
	{Name: "env"},
}}

// execStage runs a command in the pipeline file's folder with $OUT set to
// its output folder.
type execStage struct {
	command []string
	inputs  []string
	env     map[string]string
}

func decodeExec(body hcl.Body, ctx *hcl.EvalContext) (engine.Stage, hcl.Diagnostics) {
	content, diags := body.Content(execSchema)
	st := &execStage{env: map[string]string{}}
	attr := func(name string, ty cty.Type, what string) (cty.Value, bool) {
		a, ok := content.Attributes[name]
		if !ok {
			return cty.NilVal, false
		}
		v, d := a.Expr.Value(ctx)
		diags = append(diags, d...)
		if d.HasErrors() {
			return cty.NilVal, false
		}
		cv, err := convert.Convert(v, ty)
		var msg string
		switch {
		case err != nil:
			msg = err.Error()
		case cv.IsNull() || !cv.IsWhollyKnown():
			msg = "it is null"
		case hasNullElement(cv):
			msg = "it holds null"
		}
		if msg != "" {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Incorrect Attribute Type",
				Detail: fmt.Sprintf("%s must be %s; %s.", name, what, msg), Subject: a.Expr.Range().Ptr()})
			return cty.NilVal, false
		}
		return cv, true
	}
	if v, ok := attr("command", cty.List(cty.String), "a list of strings (the program and its arguments)"); ok {
		for _, e := range v.AsValueSlice() {
			st.command = append(st.command, e.AsString())
		}
		if len(st.command) == 0 {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Empty Command",
				Detail: "command needs at least the program to run, as in [\"sh\", \"-c\", \"echo hi > $OUT/hi.txt\"].", Subject: content.Attributes["command"].Expr.Range().Ptr()})
		}
	}
	if v, ok := attr("inputs", cty.List(cty.String), "a list of file or folder paths"); ok {
		for _, e := range v.AsValueSlice() {
			st.inputs = append(st.inputs, e.AsString())
		}
	}
	if v, ok := attr("env", cty.Map(cty.String), "a map of strings"); ok {
		// A cty map iterates in key order: the errors come sorted.
		for it := v.ElementIterator(); it.Next(); {
			kv, e := it.Element()
			k := kv.AsString()
			if !envName.MatchString(k) {
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid Environment Variable Name",
					Detail:  fmt.Sprintf("env key %q is not a variable name: use letters, digits and underscores, not starting with a digit (no \"=\", not empty).", k),
					Subject: content.Attributes["env"].Expr.Range().Ptr()})
				continue
			}
			st.env[k] = e.AsString()
		}
	}
	return st, diags
}

func (s *execStage) Inputs() []string { return s.inputs }

// Run runs the command in its own process group (and its own cgroup where
// it can, procs_linux.go), so that cancelling the build stops the command
// and everything it started: SIGTERM first, then SIGKILL after execGrace.
// When the command exits, whatever it left running is killed before Run
// returns, so that nothing writes to the output once it is hashed; that
// is reported as a warning in the log and on the console.
func (s *execStage) Run(ctx context.Context, rc *engine.RunContext) error {
	g := newProcGroup()
	defer g.close()
	out, closeLog := logSink(rc.Log)
	cmd, err := s.start(rc, g, out)
	if err != nil {
		closeLog()
		return fmt.Errorf("cannot start %s: %w", s.command[0], err)
	}
	pgid := cmd.Process.Pid
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-ctx.Done():
			syscall.Kill(-pgid, syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(execGrace):
				syscall.Kill(-pgid, syscall.SIGKILL)
			}
		}
	}()
	err = cmd.Wait()
	close(done)
	left, endErr := g.end(pgid)
	closeLog()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if endErr != nil {
		return endErr
	}
	if len(left) > 0 {
		msg := fmt.Sprintf("the command exited but left %d process(es) running: %s; they were killed before the output was committed (wait for background processes before the command exits)", len(left), describe(left))
		fmt.Fprintf(rc.Log, "refeval: warning: %s\n", msg)
		if rc.Warn != nil {
			rc.Warn(msg)
		}
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("%s: %v", strings.Join(s.command, " "), exit)
	}
	return err
}

// start starts the command in g, with rc.ReadOnly mounted read-only where
// the system allows (sandbox_linux.go). If starting it in g's cgroup fails where
// starting it without works, cgroups are not used again.
func (s *execStage) start(rc *engine.RunContext, g *procGroup, out io.Writer) (*exec.Cmd, error) {
	cmd := s.command1(rc, out)
	cmd.SysProcAttr = g.attr()
	_, err := startReadOnly(cmd, rc.ReadOnly)
	if err != nil && g.usesCgroup() {
		cmd = s.command1(rc, out)
		cmd.SysProcAttr = (&procGroup{fd: -1}).attr()
		if _, err = startReadOnly(cmd, rc.ReadOnly); err == nil {
			g.dropCgroup()
		}
	}
	return cmd, err
}

// command1 builds the command, its environment and its output.
func (s *execStage) command1(rc *engine.RunContext, out io.Writer) *exec.Cmd {
	cmd := exec.Command(s.command[0], s.command[1:]...)
	cmd.Dir = rc.Dir
	cmd.Stdout = out
	cmd.Stderr = out
	env := withoutVars(os.Environ(), rc.HiddenEnv)
	keys := make([]string, 0, len(s.env))
	for k := range s.env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+s.env[k])
	}
	env = append(env, "OUT="+rc.Out)
	if len(rc.Devices) > 0 {
		ids := make([]string, len(rc.Devices))
		for i, d := range rc.Devices {
			ids[i] = strconv.Itoa(d)
		}
		env = append(env, "CUDA_VISIBLE_DEVICES="+strings.Join(ids, ","))
	}
	cmd.Env = env
	return cmd
}

// logSink returns a file the command can write its output to: the log
// itself when it is a file, else a pipe copied into it. With a file, Wait
// returns when the command exits, not when the last process that inherited
// the output closes it. closeLog closes the pipe (after the stage's
// processes are gone) and waits for the copy.
func logSink(log io.Writer) (out io.Writer, closeLog func()) {
	if f, ok := log.(*os.File); ok {
		return f, func() {}
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return log, func() {} // Wait then also waits for the output to close
	}
	copied := make(chan struct{})
	go func() {
		io.Copy(log, pr)
		pr.Close()
		close(copied)
	}()
	return pw, func() {
		pw.Close()
		<-copied
	}
}

// envName is what a POSIX shell accepts as a variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// hasNullElement says whether a known list or map holds a null element
// (["echo", null]), which converts to list(string) without error.
func hasNullElement(v cty.Value) bool {
	if v.IsNull() || !v.IsKnown() || !v.CanIterateElements() {
		return false
	}
	for it := v.ElementIterator(); it.Next(); {
		if _, e := it.Element(); e.IsNull() {
			return true
		}
	}
	return false
}

// withoutVars drops the variables named in hide from an environment list
// (the API keys of model blocks a stage does not use).
func withoutVars(env, hide []string) []string {
	if len(hide) == 0 {
		return env
	}
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(hide, name) {
			out = append(out, kv)
		}
	}
	return out
}
