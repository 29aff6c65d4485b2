package slurm

import (
	"os"
	"strconv"
	"strings"

	"github.com/refeval/refeval/engine"
)

var _ engine.DeviceSource = JobDevices{}

// JobDevices is the engine.DeviceSource inside a job: a stage with
// gpus = N asked sbatch for N GPUs (--gpus=N or --gres=gpu:N, sbatch.go),
// and Slurm tells the job which ones in CUDA_VISIBLE_DEVICES. Those ids are
// passed on unchanged, so that an exec stage hands Slurm's choice to its
// command; 0..N-1 when Slurm set none, or set UUIDs rather than numbers.
type JobDevices struct {
	N       int    // the devices the stage asked for
	Visible string // CUDA_VISIBLE_DEVICES as the job sees it
}

// Job returns the JobDevices of a stage with gpus = n in this job.
func Job(n int) JobDevices {
	return JobDevices{N: n, Visible: os.Getenv("CUDA_VISIBLE_DEVICES")}
}

// Devices returns the N device ids the stage gets.
func (j JobDevices) Devices() []int {
	if j.N <= 0 {
		return nil
	}
	var ids []int
	for _, s := range strings.Split(j.Visible, ",") {
		id, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || id < 0 {
			ids = nil
			break
		}
		ids = append(ids, id)
	}
	if len(ids) >= j.N {
		return ids[:j.N]
	}
	ids = ids[:0]
	for i := range j.N {
		ids = append(ids, i)
	}
	return ids
}
