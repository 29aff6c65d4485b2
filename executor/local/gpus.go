package local

import (
	"os/exec"
	"strconv"
	"strings"

	"github.com/refeval/refeval/engine"
)

var _ engine.DeviceSource = GPUs{}

// GPUs is the engine.DeviceSource of the local executor: the NVIDIA
// devices `nvidia-smi -L` lists, by the index it prints. A machine without
// the tool, or where it fails, has none.
type GPUs struct{}

// Devices runs `nvidia-smi -L` and returns the device ids it lists.
func (GPUs) Devices() []int {
	out, err := exec.Command("nvidia-smi", "-L").Output()
	if err != nil {
		return nil
	}
	return parseSMIList(string(out))
}

// parseSMIList returns the ids of the "GPU N: …" lines of `nvidia-smi -L`
// output (MIG lines, indented under their GPU, are not devices of their
// own here).
func parseSMIList(out string) []int {
	var ids []int
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(line, "GPU ")
		if !ok {
			continue
		}
		n, _, ok := strings.Cut(rest, ":")
		id, err := strconv.Atoi(n)
		if !ok || err != nil || id < 0 {
			continue
		}
		ids = append(ids, id)
	}
	return ids
}
