package engine

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLoadEdges checks that references make edges, also through locals,
// models and datasets, to one instance by literal key or by an index that
// reaches no stage output (each.key, each.value, a local), and from
// depends_on.
func TestLoadEdges(t *testing.T) {
	p, diags := Load("testdata/ok/edges.hcl", LoadOptions{Blocks: fakeBlocks, Lookup: fakeLookup})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	tests := []struct {
		addr string
		deps []string
	}{
		{"stage.fake.prep", nil},
		{`stage.fake.train["a"]`, []string{"stage.fake.data", "stage.fake.prep"}},
		{`stage.fake.train["b"]`, []string{"stage.fake.data", "stage.fake.prep"}},
		{"stage.fake.pick", []string{`stage.fake.train["b"]`}},
		{"stage.fake.after", []string{"stage.fake.other"}},
		{`stage.fake.pairs["a"]`, []string{`stage.fake.score["a"]`}},
		{`stage.fake.pairs["b"]`, []string{`stage.fake.score["b"]`}},
		{`stage.fake.mixed["x"]`, []string{`stage.fake.pairs["a"]`, `stage.fake.score["a"]`}},
		{`stage.fake.mixed["y"]`, []string{`stage.fake.pairs["b"]`, `stage.fake.score["a"]`}},
		{"stage.fake.late", []string{"stage.fake.prep", `stage.fake.score["a"]`, `stage.fake.score["b"]`}},
		{"stage.fake.all", []string{`stage.fake.score["a"]`, `stage.fake.score["b"]`}},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			in, ok := p.Lookup(tt.addr)
			if !ok {
				t.Fatalf("no instance %s", tt.addr)
			}
			var got []string
			for _, d := range in.Deps {
				got = append(got, d.Addr)
			}
			if diff := cmp.Diff(tt.deps, got); diff != "" {
				t.Errorf("wrong deps of %s (-want +got):\n%s", tt.addr, diff)
			}
		})
	}
	// Each instance's expressions read the folders of the instances it
	// depends on, also where its scope holds only those.
	texts := map[string]string{
		`stage.fake.pairs["a"]`: pendingPrefix + `stage.fake.score["a"]`,
		`stage.fake.pairs["b"]`: pendingPrefix + `stage.fake.score["b"]`,
		`stage.fake.mixed["y"]`: pendingPrefix + `stage.fake.pairs["b"] ` + pendingPrefix + `stage.fake.score["a"]`,
		"stage.fake.all":        pendingPrefix + `stage.fake.score["a"] ` + pendingPrefix + `stage.fake.score["b"]`,
	}
	for addr, want := range texts {
		in, _ := p.Lookup(addr)
		st, diags := p.decode(in, pendingOut)
		if diags.HasErrors() {
			t.Fatalf("%s: %s", addr, diags)
		}
		if got := st.(*fakeStage).text; got != want {
			t.Errorf("%s: text = %q, want %q", addr, got, want)
		}
	}

	sel, err := p.Select([]string{"stage.fake.pick"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range sel {
		got = append(got, in.Addr)
	}
	want := []string{"stage.fake.prep", "stage.fake.data", `stage.fake.train["b"]`, "stage.fake.pick"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("wrong selection (-want +got):\n%s", diff)
	}
}
