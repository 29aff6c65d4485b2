package main

import (
	"os/exec"
	"strings"
)

// detectGPUs counts the NVIDIA devices `nvidia-smi -L` lists; 0 when the
// tool is missing or fails. Discovery lives here, not in the engine: the
// engine is told how many devices the local executor has (BuildOptions.GPUs)
// and knows no vendor; a cluster executor grants its own.
func detectGPUs() int {
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
