package engine

import (
	"fmt"
	"os/exec"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// DetectGPUs counts the NVIDIA devices `nvidia-smi -L` lists; 0 when the
// tool is missing or fails.
func DetectGPUs() int {
	out, err := exec.Command("nvidia-smi", "-L").Output()
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "GPU ") {
			n++
		}
	}
	return n
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
			Detail:  fmt.Sprintf("%s asks for %d GPUs, but %d exist. Lower gpus, or pass --gpus N if nvidia-smi does not see them all.", in.Addr, in.GPUs, available),
			Subject: rng.Ptr()})
	}
	return diags
}
