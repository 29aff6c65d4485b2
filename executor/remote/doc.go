// Package remote holds what a stage job on another machine and the build
// that sent it share through the shared file system: the job's spec (which
// stage, which upstream folders, the configuration the build hashed), the
// check that the job's machine sees the pipeline and cache folders, the
// memo files that carry a stage's per-item memos to the job and back, and
// the result the job leaves. `refeval run-stage` is the job's side; cluster
// executors (package executor/slurm) are the build's side.
//
// It leaves scheduling to the executors and the cache index to the build:
// a job never opens the index; the build commits its output.
package remote
