package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/refeval/refeval/cache"
)

// TestActionIDGolden pins the ActionIDs of a small pipeline: a root stage
// with an input file, for_each instances, a literal and an indexed
// reference, depends_on, and an upstream by its folder. Every cache on
// every machine is keyed by these; a change of them reruns every stage
// there. If one is intended, increase actionFormat, say in actionFormats
// what changed (plan shows it as the reason for each rerun), then update
// the values here.
func TestActionIDGolden(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"in.txt": "fixed input\n",
		"p.hcl": `
stage "fake" "root" {
  text   = "root"
  inputs = ["in.txt"]
}

stage "fake" "each" {
  for_each = toset(["a", "b"])
  text     = "${stage.fake.root.out}/${each.key}"
  n        = 2
}

stage "fake" "pick" {
  for_each   = { x = "a", y = "b" }
  text       = "${stage.fake.each[each.value].out} ${stage.fake.each["a"].out}"
  depends_on = [stage.fake.root]
}
`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, diags := Load(filepath.Join(dir, "p.hcl"), LoadOptions{Blocks: fakeBlocks, Lookup: fakeLookup})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	c, err := cache.Open(filepath.Join(dir, ".refeval"), cache.Options{NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Upstream outputs as a build would give them, with fixed OutputIDs.
	outs := map[*Instance]upstreamOut{}
	for i, in := range p.Stages {
		id := cache.ID{byte(i + 1)}
		outs[in] = upstreamOut{id: id, dir: c.OutputDir(id)}
	}
	want := map[string]string{
		`stage.fake.root`:      "488b98223d2b90c58f8c1c846d0daafdd51ebd561032775f1e430065f9fa2153",
		`stage.fake.each["a"]`: "b7af62cbcc0d206f19feca9c08dfa3d71d64d362502538879ea99a71b75eca01",
		`stage.fake.each["b"]`: "c2e37e32a62e3ad23faad33308e02608b5ac7deff714e92399167c9c6f498041",
		`stage.fake.pick["x"]`: "bf85a75367840c597ea797206259b650eaca8cb4f6ac4c822831061e37858f0e",
		`stage.fake.pick["y"]`: "7751f6d590278a3bdf90e820258727cf28b7ec1ac2d96a36445d0e036552fe23",
	}
	for _, in := range p.Stages {
		ups := map[*Instance]upstreamOut{}
		for _, d := range in.Deps {
			ups[d] = outs[d]
		}
		a, err := p.computeAction(c, in, ups, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.id.String(); got != want[in.Addr] {
			t.Errorf("ActionID of %s = %s, want %s", in.Addr, got, want[in.Addr])
		}
	}
}
