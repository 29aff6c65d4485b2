package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/refeval/refeval/cache"
	"github.com/refeval/refeval/internal/tmpfs"
)

// fillStage writes zeros into its output folder until the file system is
// full, and fails with the write's error (ENOSPC), as a stage that fills
// the disk does.
type fillStage struct{}

func (fillStage) Inputs() []string { return nil }

func (fillStage) Run(ctx context.Context, rc *RunContext) error {
	f, err := os.Create(filepath.Join(rc.Out, "big.bin"))
	if err != nil {
		return err
	}
	defer f.Close()
	chunk := make([]byte, 1<<20)
	for {
		if _, err := f.Write(chunk); err != nil {
			return err
		}
	}
}

// TestStageKilledByFullDisk runs a stage that fills a 40 MB tmpfs holding
// the cache (as root; skipped elsewhere). Before, the failure said only
// the write's error (or "exit status 1" for a command); now it says the
// disk is full, with the free bytes and the mount point.
func TestStageKilledByFullDisk(t *testing.T) {
	mnt := tmpfs.Mount(t)

	file := filepath.Join(t.TempDir(), "p.hcl")
	if err := os.WriteFile(file, []byte(`stage "fill" "f" {}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	k := &Kind{Name: "fill", Version: "1", Schema: &hcl.BodySchema{},
		Decode: func(hcl.Body, *hcl.EvalContext) (Stage, hcl.Diagnostics) { return fillStage{}, nil }}
	pl, diags := Load(file, LoadOptions{Blocks: fakeBlocks, Lookup: func(name string) (*Kind, bool) { return k, name == "fill" }})
	if diags.HasErrors() {
		t.Fatalf("load: %s", diags)
	}
	c, err := cache.Open(filepath.Join(mnt, ".refeval"), cache.Options{NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rep := Build(context.Background(), []Selection{{Pipeline: pl, Stages: pl.Stages}}, BuildOptions{Cache: c, Jobs: 1})
	res := rep.Results[0]
	if res.Status != StatusFailed || res.Err == nil || !strings.Contains(res.Err.Error(), "disk full: ") || !strings.Contains(res.Err.Error(), "bytes free on "+mnt) {
		t.Errorf("wrong result of a stage that filled the disk\ngot:  %v, %v\nwant: failed, …disk full: N bytes free on %s…", res.Status, res.Err, mnt)
	}
	if err := c.DiskFull(); err != nil {
		t.Errorf("the failed stage's output was not removed: %v", err)
	}
}
