package stages

import (
	"errors"
	"fmt"

	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/llm"
)

// deviceLoader loads one copy of a local model per worker, worker k on the
// granted device rc.Devices[k] (device 0 when none are granted). A backend
// with fewer devices than the engine granted (the pure-Go backend has one;
// gpus = N counts the machine's accelerators, not the backend's) runs
// worker k on device rc.Devices[k] mod its device count instead, and says
// so in the stage's log: the workers still split the items, they share a
// device.
type deviceLoader struct {
	rc      *engine.RunContext
	r       ModelRef
	rows    int
	devices int // The backend's device count once a DeviceError told it; 0 before.
}

// load loads the model for worker k.
func (d *deviceLoader) load(k int) (*llm.Model, error) {
	dev := 0
	if k < len(d.rc.Devices) {
		dev = d.rc.Devices[k]
	}
	if d.devices > 0 {
		dev = d.fallback(k, dev)
	}
	m, err := loadLocalOn(d.rc, d.r, d.rows, dev)
	var de *llm.DeviceError
	if errors.As(err, &de) && d.devices == 0 && de.Devices > 0 && dev >= de.Devices {
		d.devices = de.Devices
		m, err = loadLocalOn(d.rc, d.r, d.rows, d.fallback(k, dev))
	}
	return m, err
}

// fallback maps a granted device beyond the backend's count onto one it
// has, logging the change.
func (d *deviceLoader) fallback(k, dev int) int {
	if dev < d.devices {
		return dev
	}
	to := dev % d.devices
	if d.rc.Log != nil {
		fmt.Fprintf(d.rc.Log, "model %s: device %d was granted but the backend has %d device(s); worker %d runs on device %d\n", d.r.Path, dev, d.devices, k, to)
	}
	return to
}

// loadLocalOn loads a local checkpoint folder with rows rows per forward
// pass on the backend's device dev (0, every backend's first, when the
// stage was granted none).
func loadLocalOn(rc *engine.RunContext, r ModelRef, rows, dev int) (*llm.Model, error) {
	m, err := llm.Load(resolve(rc.Dir, r.Path), llm.Options{MaxBatch: rows, Device: dev})
	if err != nil {
		return nil, err
	}
	if m.Tokenizer() == nil || m.Template() == nil {
		m.Close()
		return nil, fmt.Errorf("model %s has no tokenizer or chat template", r.Path)
	}
	return m, nil
}
