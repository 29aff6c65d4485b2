// Package slurm runs stages as Slurm jobs: an engine.Cluster that sends
// each stage to `sbatch` as a job running `refeval run-stage` on a compute
// node, follows it with `squeue`, reads how it ended with `scontrol show
// job` (or `sacct`), and cancels it with `scancel`. It talks to Slurm only
// through those commands, so it needs nothing but the Slurm client on the
// machine that runs the build.
//
// It decodes the `executor "slurm" "NAME" { … }` block (config.go), builds
// the sbatch command line (sbatch.go), follows jobs (queue.go) and runs
// one stage from submission to a checked result (executor.go). What a job
// and the build share on disk is package executor/remote's; the cache
// index stays the build's.
package slurm
