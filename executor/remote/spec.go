package remote

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/refeval/refeval/cache"
	"github.com/refeval/refeval/engine"
	"github.com/refeval/refeval/internal/atomicfile"
)

// Files of a job folder.
const (
	SpecFile    = "spec.json"     // the Spec, written by the build
	ResultFile  = "result.json"   // the Result, written by the job when the stage succeeded
	MemoInFile  = "memo.in"       // the stage kind's memos when the job was sent
	MemoOutFile = "memo.out"      // memos the job added
	ProgressRec = "progress.json" // the stage's last progress report
	ErrorFile   = "error.txt"     // why the stage failed, written by the job
)

// A Spec tells a job which stage to run and where everything is. Every
// path is absolute and must mean the same on the build's machine and the
// job's.
type Spec struct {
	// Pipeline is the pipeline file; Vars the --var values it was loaded with.
	Pipeline string            `json:"pipeline"`
	Vars     map[string]string `json:"vars,omitempty"`
	// Addr is the stage instance's address; Action its ActionID (hex).
	Addr   string `json:"addr"`
	Action string `json:"action"`
	// Config is the canonical configuration the build hashed.
	Config map[string]string `json:"config"`
	// Upstream holds each upstream instance's output folder, by address.
	Upstream map[string]engine.Upstream `json:"upstream"`
	// Cache is the cache folder; Out the empty folder under it that the
	// stage fills.
	Cache string `json:"cache"`
	Out   string `json:"out"`
	// GPUs is the number of devices the stage asked for.
	GPUs int `json:"gpus,omitempty"`
	// ReadOnly lists the folders the stage must not change (RunContext.ReadOnly).
	ReadOnly []string `json:"read_only,omitempty"`
}

// A Result is what a job reports when its stage succeeded.
type Result struct {
	// OutputID is the OutputID of what the stage wrote into Out.
	OutputID cache.ID `json:"output_id"`
	// Files is how many files it wrote.
	Files int `json:"files"`
	// Host is the machine the stage ran on.
	Host string `json:"host"`
}

// WriteSpec writes the spec into the job folder dir.
func WriteSpec(dir string, s *Spec) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, SpecFile), b)
}

// ReadSpec reads a spec file.
func ReadSpec(path string) (*Spec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// WriteResult writes the result into the job folder dir.
func WriteResult(dir string, r *Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(dir, ResultFile), b)
}

// ReadResult reads the result the job left in dir; it fails when there is none.
func ReadResult(dir string) (*Result, error) {
	b, err := os.ReadFile(filepath.Join(dir, ResultFile))
	if err != nil {
		return nil, err
	}
	var r Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ResultFile), err)
	}
	return &r, nil
}
