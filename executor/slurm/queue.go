package slurm

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// A queue follows the jobs of one executor with one squeue call per poll
// interval for all of them, instead of one per job.
type queue struct {
	poll time.Duration
	user string

	mu      sync.Mutex
	watch   map[string]chan jobState // by job id; each holds the latest state
	running bool
}

// A jobState is a job's line in squeue; State is empty once squeue no
// longer lists the job (it ended), and Err is set when squeue kept failing.
type jobState struct {
	State, Reason string
	Err           error
}

func (s jobState) String() string {
	if s.Reason == "" || s.Reason == "None" {
		return s.State
	}
	return s.State + " (" + s.Reason + ")"
}

// squeueFailures is how many squeue calls in a row may fail (slurmctld
// restarting, a busy controller) before the jobs waiting on it fail.
const squeueFailures = 30

// follow starts following job id; its channel receives the job's state
// after every poll.
func (q *queue) follow(id string) <-chan jobState {
	ch := make(chan jobState, 1)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.watch == nil {
		q.watch = map[string]chan jobState{}
	}
	q.watch[id] = ch
	if !q.running {
		q.running = true
		go q.loop()
	}
	return ch
}

// forget stops following job id.
func (q *queue) forget(id string) {
	q.mu.Lock()
	delete(q.watch, id)
	q.mu.Unlock()
}

func (q *queue) loop() {
	failures := 0
	for {
		states, err := squeue(q.user)
		q.mu.Lock()
		if len(q.watch) == 0 {
			q.running = false
			q.mu.Unlock()
			return
		}
		if err != nil {
			failures++
		} else {
			failures = 0
		}
		if err == nil || failures >= squeueFailures {
			for id, ch := range q.watch {
				st := states[id]
				if err != nil {
					st = jobState{Err: fmt.Errorf("squeue failed %d times in a row: %w", failures, err)}
				}
				select {
				case <-ch: // drop the state nobody read
				default:
				}
				ch <- st
			}
		}
		q.mu.Unlock()
		time.Sleep(q.poll)
	}
}

// squeue returns the state of every job of user that squeue lists.
func squeue(user string) (map[string]jobState, error) {
	out, err := run("squeue", "--noheader", "--user="+user, "--format=%i %T %r")
	if err != nil {
		return nil, err
	}
	return parseSqueue(out), nil
}

// parseSqueue reads squeue's "%i %T %r" lines.
func parseSqueue(out string) map[string]jobState {
	m := map[string]jobState{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		st := jobState{State: f[1]}
		if len(f) > 2 {
			st.Reason = strings.Join(f[2:], " ")
		}
		m[f[0]] = st
	}
	return m
}

// An ending is how a job ended: Slurm's state (COMPLETED, FAILED,
// CANCELLED, TIMEOUT, NODE_FAIL, PREEMPTED, OUT_OF_MEMORY, …), its exit
// code as Slurm writes it ("1:0" is exit status 1, "0:9" signal 9), and
// the reason Slurm gives.
type ending struct {
	State, ExitCode, Reason string
}

// finalState asks Slurm how job id ended: scontrol, which knows a job for
// MinJobAge after it ends (300 s by default), else sacct, where a site
// keeps accounting.
func finalState(id string) (ending, error) {
	out, err := run("scontrol", "show", "job", "--oneliner", id)
	if err == nil {
		if e, ok := parseScontrol(out); ok {
			return e, nil
		}
	}
	out, err2 := run("sacct", "--noheader", "--allocations", "--parsable2", "--jobs="+id, "--format=State,ExitCode")
	if err2 == nil {
		if e, ok := parseSacct(out); ok {
			return e, nil
		}
	}
	return ending{}, fmt.Errorf("neither scontrol nor sacct knows how job %s ended (scontrol: %v; sacct: %v)", id, err, err2)
}

// parseScontrol reads the JobState, ExitCode and Reason of scontrol show
// job --oneliner.
func parseScontrol(out string) (ending, bool) {
	var e ending
	for _, kv := range strings.Fields(out) {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "JobState":
			e.State = v
		case "ExitCode":
			e.ExitCode = v
		case "Reason":
			e.Reason = v
		}
	}
	return e, e.State != ""
}

// parseSacct reads sacct's "State|ExitCode" line.
func parseSacct(out string) (ending, bool) {
	line, _, _ := strings.Cut(strings.TrimSpace(out), "\n")
	f := strings.Split(line, "|")
	if len(f) != 2 || f[0] == "" {
		return ending{}, false
	}
	state, _, _ := strings.Cut(f[0], " ") // "CANCELLED by 0"
	return ending{State: state, ExitCode: f[1]}, true
}

// run runs a Slurm command and returns its standard output; its error
// holds what it printed on standard error.
func run(name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return stdout.String(), fmt.Errorf("%s: %s", name, msg)
	}
	return stdout.String(), nil
}
