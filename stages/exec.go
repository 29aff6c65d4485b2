package stages

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
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
		if err != nil || cv.IsNull() || !cv.IsWhollyKnown() {
			msg := "it is null"
			if err != nil {
				msg = err.Error()
			}
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
		for k, e := range v.AsValueMap() {
			st.env[k] = e.AsString()
		}
	}
	return st, diags
}

func (s *execStage) Inputs() []string { return s.inputs }

// Run runs the command in its own process group, so that cancelling the
// build stops the command and everything it started: SIGTERM first, then
// SIGKILL after execGrace.
func (s *execStage) Run(ctx context.Context, rc *engine.RunContext) error {
	cmd := exec.Command(s.command[0], s.command[1:]...)
	cmd.Dir = rc.Dir
	cmd.Stdout = rc.Log
	cmd.Stderr = rc.Log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	env := os.Environ()
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
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot start %s: %w", s.command[0], err)
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-ctx.Done():
			pgid := cmd.Process.Pid
			syscall.Kill(-pgid, syscall.SIGTERM)
			select {
			case <-done:
			case <-time.After(execGrace):
				syscall.Kill(-pgid, syscall.SIGKILL)
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("%s: %v", strings.Join(s.command, " "), exit)
	}
	return err
}
