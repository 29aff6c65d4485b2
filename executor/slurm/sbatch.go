package slurm

import (
	"fmt"
	"strconv"
	"strings"
)

// sbatchArgs returns sbatch's arguments for one stage's job: the job runs
// in the pipeline's folder dir, writes its output and errors to logPath
// (appending, so that a retried job keeps the earlier attempts' lines), and
// inherits the build's environment (GOMLX_BACKEND and the like).
func (c *Config) sbatchArgs(name, dir, logPath string, gpus int) []string {
	args := []string{"--parsable", "--job-name=" + name, "--output=" + logPath, "--open-mode=append", "--chdir=" + dir, "--export=ALL"}
	if c.Partition != "" {
		args = append(args, "--partition="+c.Partition)
	}
	if c.Account != "" {
		args = append(args, "--account="+c.Account)
	}
	if c.Time != "" {
		args = append(args, "--time="+c.Time)
	}
	if c.CPUs > 0 {
		args = append(args, "--cpus-per-task="+strconv.Itoa(c.CPUs))
	}
	if c.Mem != "" {
		args = append(args, "--mem="+c.Mem)
	}
	if gpus > 0 {
		if c.GPUFlag == "gres" {
			args = append(args, fmt.Sprintf("--gres=gpu:%d", gpus))
		} else {
			args = append(args, fmt.Sprintf("--gpus=%d", gpus))
		}
	}
	return append(args, c.Extra...)
}

// jobScript is the batch script of a stage's job: it checks that the node
// can run refeval, then runs the one stage the spec names. Every path is
// quoted for the shell, and the address (whose for_each keys may hold any
// character, a newline too) is quoted in its comment.
func jobScript(addr, refeval, spec string) string {
	bin := shellQuote(refeval)
	return fmt.Sprintf(`#!/bin/sh
# refeval: stage %q
if [ ! -x %s ]; then
	echo "refeval: node $(hostname) cannot run "%s": the refeval binary must be on a file system the nodes share (set refeval = \"PATH\" in the executor block)" >&2
	exit 97
fi
exec %s run-stage %s
`, addr, bin, bin, bin, shellQuote(spec))
}

// parseJobID reads the job id sbatch --parsable prints: "ID" or "ID;CLUSTER".
func parseJobID(out string) (string, error) {
	line := strings.TrimSpace(out)
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = line[i+1:]
	}
	id, _, _ := strings.Cut(line, ";")
	if _, err := strconv.ParseUint(id, 10, 64); err != nil {
		return "", fmt.Errorf("sbatch printed %q, not a job id", strings.TrimSpace(out))
	}
	return id, nil
}

// jobName is a stage's job name: refeval: and its address, which squeue
// shows; Slurm allows any characters but cuts names at 1024 bytes.
func jobName(addr string) string {
	n := "refeval:" + strings.TrimPrefix(addr, "stage.")
	if len(n) > 200 {
		n = n[:200]
	}
	return n
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
