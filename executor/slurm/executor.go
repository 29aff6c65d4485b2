package slurm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/refeval/refeval/cache"
	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/executor/remote"
)

// An Executor runs stages as Slurm jobs. It satisfies engine.Cluster.
type Executor struct {
	name    string
	cfg     *Config
	refeval string
	q       *queue
}

// New returns the executor of a decoded block named name ("slurm.gpu").
func New(name string, cfg *Config) (*Executor, error) {
	bin := cfg.Refeval
	if bin == "" {
		var err error
		if bin, err = selfPath(); err != nil {
			return nil, fmt.Errorf("executor %s: cannot tell where the refeval binary is (%v); set refeval = \"PATH\" in the executor block", name, err)
		}
	}
	u, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("executor %s: %w", name, err)
	}
	if _, err := exec.LookPath("sbatch"); err != nil {
		return nil, fmt.Errorf("executor %s: sbatch is not on PATH: run the build on a machine with the Slurm client (a login node)", name)
	}
	return &Executor{name: name, cfg: cfg, refeval: bin, q: &queue{poll: cfg.poll, user: u.Username}}, nil
}

// selfPath returns the running refeval binary by the name it was started
// with, as found on PATH: not os.Executable, which resolves symbolic links
// that a site's module system or a test harness relies on.
func selfPath() (string, error) {
	p, err := exec.LookPath(os.Args[0])
	if err != nil {
		return "", err
	}
	return filepath.Abs(p)
}

// MaxJobs returns how many of the executor's jobs may be queued or running at once.
func (e *Executor) MaxJobs() int { return e.cfg.MaxJobs }

// retryable says which endings a retry may mend: the job did nothing
// wrong, its node or its allocation went away.
var retryable = map[string]bool{"PREEMPTED": true, "NODE_FAIL": true, "BOOT_FAIL": true}

// Run sends t's stage as a job and waits for it. The job folder under the
// cache folder holds the spec, the memos, the log and the result; it is
// removed when Run returns, after the memos the job added are in the cache
// and its log is in the stage's log. Cancelling ctx cancels the job and
// waits until Slurm has ended it.
func (e *Executor) Run(ctx context.Context, t *engine.Task) (err error) {
	jobs := t.Cache.JobsDir()
	if err := os.MkdirAll(jobs, 0o777); err != nil {
		return err
	}
	dir, err := os.MkdirTemp(jobs, t.Action.String()[:12]+"-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	memoIn, memoOut := filepath.Join(dir, remote.MemoInFile), filepath.Join(dir, remote.MemoOutFile)
	if it, ok := t.Memo.(remote.Iterable); ok {
		if err := remote.WriteMemos(memoIn, it); err != nil {
			return fmt.Errorf("handing memos to the job: %w", err)
		}
	}
	defer func() {
		// The memos the job finished are kept even when it failed, so that
		// a rerun resumes.
		if t.Memo == nil {
			return
		}
		ierr := remote.ReadMemos(memoOut, func(k string, v []byte) error { return t.Memo.Put(k, v) })
		if ierr != nil && err == nil {
			err = fmt.Errorf("taking the job's memos: %w", ierr)
		}
	}()
	spec := &remote.Spec{
		Pipeline: t.Pipeline.File, Vars: t.Pipeline.LoadVars, Addr: t.Instance.Addr, Action: t.Action.String(),
		Config: t.Config, Upstream: t.Upstream, Cache: t.Cache.Dir(), Out: t.Out, GPUs: t.Instance.GPUs,
		ReadOnly: t.ReadOnly,
	}
	if err := remote.WriteSpec(dir, spec); err != nil {
		return err
	}
	script := filepath.Join(dir, "job.sh")
	if err := os.WriteFile(script, []byte(jobScript(t.Instance.Addr, e.refeval, filepath.Join(dir, remote.SpecFile))), 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(dir, "slurm.log")
	defer appendLog(t.Log, logPath)

	for attempt := 0; ; attempt++ {
		id, end, err := e.runJob(ctx, t, dir, script, logPath)
		if err != nil {
			return err
		}
		if end.State == "COMPLETED" {
			res, err := remote.ReadResult(dir)
			if err != nil {
				return fmt.Errorf("slurm job %s COMPLETED but left no result (%v); nothing was recorded", id, err)
			}
			t.OutputID = res.OutputID
			fmt.Fprintf(t.Log, "refeval: slurm job %s ran on %s\n", id, res.Host)
			return nil
		}
		if retryable[end.State] && attempt < e.cfg.Retries {
			t.State(fmt.Sprintf("job %s %s; sending it again (retry %d of %d)", id, end.State, attempt+1, e.cfg.Retries))
			if err := emptyFolder(t.Out); err != nil {
				return err
			}
			continue
		}
		msg := fmt.Sprintf("slurm job %s %s (%s", id, end.State, exitText(end.ExitCode))
		if end.Reason != "" && end.Reason != "None" {
			msg += ", reason " + end.Reason
		}
		msg += ")"
		if b, err := os.ReadFile(filepath.Join(dir, remote.ErrorFile)); err == nil && len(b) > 0 {
			msg += ": " + strings.TrimSpace(string(b))
		}
		if _, err := os.Stat(logPath); errors.Is(err, os.ErrNotExist) {
			msg += fmt.Sprintf("; the job left no log at %s: the node may not see the cache folder %s, which must be on a file system the nodes share (docs/executor.md)", logPath, t.Cache.Dir())
		}
		return errors.New(msg)
	}
}

// runJob submits the job once and follows it until it ends, or until ctx
// is cancelled, when it cancels the job and waits for Slurm to end it.
func (e *Executor) runJob(ctx context.Context, t *engine.Task, dir, script, logPath string) (string, ending, error) {
	args := e.cfg.sbatchArgs(jobName(t.Instance.Addr), t.Pipeline.Dir, logPath, t.Instance.GPUs)
	out, err := submit(ctx, append(args, script))
	if err != nil {
		return "", ending{}, fmt.Errorf("submitting the job: %w", err)
	}
	id, err := parseJobID(out)
	if err != nil {
		return "", ending{}, err
	}
	fmt.Fprintf(t.Log, "refeval: sbatch %s %s → job %s\n", strings.Join(args, " "), script, id)
	t.State("job " + id + " submitted")
	ch := e.q.follow(id)
	defer e.q.forget(id)
	last := ""
	for {
		select {
		case <-ctx.Done():
			e.cancel(id, ch)
			t.State("job " + id + " cancelled")
			return id, ending{}, fmt.Errorf("slurm job %s cancelled: %w", id, ctx.Err())
		case st := <-ch:
			if st.Err != nil {
				e.cancel(id, ch)
				return id, ending{}, fmt.Errorf("following slurm job %s: %w", id, st.Err)
			}
			if st.State == "" { // gone from squeue: ended, or not listed yet
				end, err := finalState(id)
				if err != nil {
					// Not listed, yet not known to have ended: make sure
					// it has, as the build stops following it.
					e.cancel(id, ch)
					return id, ending{}, fmt.Errorf("%w; the job was cancelled in case it still runs", err)
				}
				if !ended(end.State) {
					continue
				}
				return id, end, nil
			}
			if s := st.String(); s != last {
				t.State("job " + id + " " + s)
				last = s
			}
			readProgress(t, dir)
		}
	}
}

// submitTries and submitBackoff bound how often sbatch is tried when the
// controller is busy or restarting ("Socket timed out", "Resource
// temporarily unavailable"), which Slurm's documentation says to retry.
const submitTries = 4

var submitBackoff = 3 * time.Second // a variable for tests

// submit runs sbatch, again after a transient error.
func submit(ctx context.Context, args []string) (string, error) {
	for try := 1; ; try++ {
		out, err := run("sbatch", args...)
		if err == nil || try == submitTries || !transient(err) {
			return out, err
		}
		select {
		case <-ctx.Done():
			return "", err
		case <-time.After(time.Duration(try) * submitBackoff):
		}
	}
}

// transient reports whether a Slurm command's error is worth a retry.
func transient(err error) bool {
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"timed out", "temporarily unavailable", "unable to contact slurm controller", "try again"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// cancel cancels job id and waits, at most a minute, until squeue no
// longer lists it, so that a build that returns leaves no job behind.
func (e *Executor) cancel(id string, ch <-chan jobState) {
	run("scancel", id)
	timeout := time.After(time.Minute)
	for {
		select {
		case st := <-ch:
			if st.State == "" || st.Err != nil {
				return
			}
		case <-timeout:
			return
		}
	}
}

// ended reports whether a job state is final.
func ended(state string) bool {
	switch state {
	case "PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD":
		return false
	}
	return true
}

// exitText turns Slurm's "STATUS:SIGNAL" exit code into words.
func exitText(code string) string {
	status, sig, _ := strings.Cut(code, ":")
	switch {
	case code == "":
		return "no exit code"
	case sig != "" && sig != "0":
		return "killed by signal " + sig
	default:
		return "exit status " + status
	}
}

// readProgress passes the job's last progress report to the console.
func readProgress(t *engine.Task, dir string) {
	if t.Progress == nil {
		return
	}
	b, err := os.ReadFile(filepath.Join(dir, remote.ProgressRec))
	if err != nil {
		return
	}
	var p struct{ Done, Total int64 }
	if json.Unmarshal(b, &p) == nil {
		t.Progress(p.Done, p.Total)
	}
}

// appendLog copies the job's log into the stage's log.
func appendLog(w io.Writer, path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	io.Copy(w, f)
}

// emptyFolder removes everything in dir, for a retried job.
func emptyFolder(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := cache.RemoveTree(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}
