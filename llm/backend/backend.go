package backend

import (
	"fmt"
	"os"
	"strings"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"  // Registers "go".
	_ "github.com/gomlx/go-xla/compute/xla" // Registers "xla"; without autoinstall, so nothing is downloaded.
)

// Default is the configuration used when neither the caller nor
// GOMLX_BACKEND names one. The pure-Go backend's default (parallel ops)
// configuration can hang forever on graphs with several large matmuls
// (nested use of one bounded worker pool; see docs/llm.md), and
// ops_sequential was never slower in our measurements.
const Default = "go:ops_sequential"

// EnvVar is the environment variable that picks the backend when the
// caller names none. Its value changes the numbers a model computes, so
// stages that compute with GoMLX hash it into their ActionIDs.
const EnvVar = "GOMLX_BACKEND"

// Config returns the backend configuration to use: config if not empty,
// else $GOMLX_BACKEND, else Default. A bare "go" becomes Default.
func Config(config string) string {
	if config == "" {
		config = os.Getenv(EnvVar)
	}
	if config == "" || config == "go" {
		config = Default
	}
	return config
}

// New creates the backend Config(config) names, such as
// "go:ops_sequential", "xla:cpu" or "xla:/abs/path/pjrt_c_api_cuda_plugin.so".
func New(config string) (b compute.Backend, err error) {
	config = Config(config)
	os.Setenv("GOMLX_NO_AUTO_INSTALL", "1")
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("creating backend %q: %v", config, r)
		}
	}()
	b, err = compute.NewWithConfig(config)
	if err != nil {
		hint := ""
		if strings.HasPrefix(config, "xla") {
			hint = "; give the PJRT plugin by absolute path (GOMLX_BACKEND=xla:/abs/path/plugin.so) or use the pure-Go backend (GOMLX_BACKEND=go)"
		}
		return nil, fmt.Errorf("creating backend %q: %w%s", config, err, hint)
	}
	return b, nil
}

// Class names the numerics a backend produces, for cache keys: "go" for the
// pure-Go backend, else the backend's lower-cased name and description
// (XLA's says which platform, such as cuda).
func Class(b compute.Backend) string {
	name := strings.ToLower(b.Name())
	if strings.HasPrefix(name, "go") {
		return "go"
	}
	return name + ":" + strings.ToLower(b.Description())
}
