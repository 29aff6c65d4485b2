package engine

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

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
