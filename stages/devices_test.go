package stages

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/refeval/refeval/engine"
)

// TestDeviceLoader loads a model per granted device on the pure-Go
// backend (one device): granted ids it lacks fall back to device 0 and the
// log says so; no grant means device 0.
func TestDeviceLoader(t *testing.T) {
	d := newDemo(t, 2)
	d.tinyPolicy()
	tests := []struct {
		name    string
		devices []int
		want    []int
		logged  []string
	}{
		{"none granted", nil, []int{0}, nil},
		{"device 0", []int{0}, []int{0}, nil},
		{"more than the backend has", []int{0, 1, 2}, []int{0, 0, 0}, []string{"device 1 was granted but the backend has 1 device(s); worker 1 runs on device 0", "device 2 was granted but the backend has 1 device(s); worker 2 runs on device 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log bytes.Buffer
			rc := &engine.RunContext{Dir: d.dir, Log: &log, Devices: tt.devices}
			l := &deviceLoader{rc: rc, r: ModelRef{Path: filepath.Join(d.dir, "init")}, rows: 2}
			var got []int
			for k := range max(1, len(tt.devices)) {
				m, err := l.load(k)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, m.Device())
				m.Close()
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("wrong devices (-want +got):\n%s", diff)
			}
			var lines []string
			for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
				if line != "" {
					_, after, _ := strings.Cut(line, ": ")
					lines = append(lines, after)
				}
			}
			if diff := cmp.Diff(tt.logged, lines); diff != "" {
				t.Errorf("wrong log (-want +got):\n%s", diff)
			}
		})
	}
}
