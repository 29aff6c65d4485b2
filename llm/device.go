package llm

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/distributed"
	"github.com/gomlx/gomlx/ml/model"
)

// DeviceError is returned by Load and New when Options.Device is not one
// of the backend's devices. Callers that were granted more devices than
// the backend has (a CPU backend has one) may retry with a device it has.
type DeviceError struct {
	Device  int    // The device asked for.
	Devices int    // How many the backend has (ids 0 … Devices-1).
	Backend string // The backend's name.
}

func (e *DeviceError) Error() string {
	return fmt.Sprintf("device %d: backend %s has %d device(s), ids 0 to %d; ask for one of them (Options.Device) or grant fewer devices", e.Device, e.Backend, e.Devices, e.Devices-1)
}

// Device returns the backend device the model runs on.
func (m *Model) Device() int { return int(m.device) }

// pin makes e run on the model's device. Device 0 is every Exec's
// default and is left alone. Another device gets a one-device SPMD mesh
// assigned to it: GoMLX v0.28.8 assigns devices only to graphs with a
// distribution strategy, and model.Exec then puts the weights on the
// assigned device. That path is untested (no multi-device backend was at
// hand), and on the pure-Go backend a one-device SPMD graph hung, so
// device 0 must not take it.
func (m *Model) pin(e *model.Exec) error {
	if m.device == 0 {
		return nil
	}
	mesh, err := distributed.NewDeviceMesh([]int{1}, []string{"device"})
	if err != nil {
		return fmt.Errorf("pinning the model to device %d: %w", m.device, err)
	}
	e.SPMD(mesh).WithDeviceAssignment([]compute.DeviceNum{m.device})
	return nil
}
