package engine

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// A DeviceSource is how an executor supplies accelerator devices, so
// that the engine knows no vendor and runs no discovery tool: the local
// executor's lists this machine's devices (package executor/local), a
// cluster job's those its scheduler granted the job (executor/slurm's
// JobDevices, from CUDA_VISIBLE_DEVICES). The engine hands each stage with
// gpus = N distinct ids from the list and checks N against its length.
type DeviceSource interface {
	// Devices returns the ids of the devices stages can be granted; nil
	// when there are none.
	Devices() []int
}

// DeviceList is a DeviceSource that lists fixed ids (a --gpus N flag, or a
// test).
type DeviceList []int

// Devices returns the list.
func (l DeviceList) Devices() []int { return l }

// FirstDevices lists the ids 0 to n-1.
func FirstDevices(n int) DeviceList {
	l := make(DeviceList, 0, max(n, 0))
	for i := range max(n, 0) {
		l = append(l, i)
	}
	return l
}

// CheckDevices reports stages that ask for more GPUs than exist.
func CheckDevices(stages []*Instance, available int) hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := map[*stageBlock]bool{}
	for _, in := range stages {
		if in.GPUs <= available || seen[in.block] {
			continue
		}
		seen[in.block] = true
		rng := in.DeclRange
		if in.block.gpus != nil {
			rng = in.block.gpus.Range()
		}
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Not Enough GPUs",
			Detail:  fmt.Sprintf("%s asks for %d GPUs, but %d exist. Lower gpus, or pass --gpus N if detection missed some.", in.Addr, in.GPUs, available),
			Subject: rng.Ptr()})
	}
	return diags
}
