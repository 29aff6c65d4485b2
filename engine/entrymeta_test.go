package engine

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/refeval/refeval/cache"
)

// TestEntryMetaReadsV1 reads an entry of the first layout (the engine's
// fields beside the cache's) as the cache hands it over: Name and Scope are
// the stage and pipeline, and the engine's description is what was there,
// so plan still explains reruns against an old cache.
func TestEntryMetaReadsV1(t *testing.T) {
	files := []cache.File{{Name: "out.txt", Size: 1, Digest: cache.ID{1}, Mode: 0o444}}
	v := fmt.Sprintf(`{"OutputID":%q,"Files":[{"Name":"out.txt","Size":1,"Digest":%q,"Mode":292}],`+
		`"Config":{"text":"\"a\""},"Inputs":{"in.txt":"ab"},"Upstream":{"stage.probe.a":"cd"},"Kind":"probe","KindVersion":"1",`+
		`"Addr":"stage.probe.b","Pipeline":"/p.hcl","Created":"1970-01-01T00:00:00Z","LastUsed":"1970-01-01T00:00:00Z","Duration":0}`,
		cache.OutputIDOf(files).String(), cache.ID{1}.String())
	e, err := cache.DecodeEntry([]byte(v))
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "stage.probe.b" || e.Scope != "/p.hcl" {
		t.Errorf("wrong names\ngot:  %q %q\nwant: stage.probe.b /p.hcl", e.Name, e.Scope)
	}
	got, ok := metaOf(e)
	want := entryMeta{Kind: "probe", KindVersion: "1", Config: map[string]string{"text": `"a"`},
		Inputs: map[string]string{"in.txt": "ab"}, Upstream: map[string]string{"stage.probe.a": "cd"}}
	if diff := cmp.Diff(want, got); !ok || diff != "" {
		t.Errorf("wrong meta of a v1 entry (ok %v, -want +got):\n%s", ok, diff)
	}
	if _, ok := metaOf(&cache.Entry{Meta: []byte(`[1]`)}); ok {
		t.Errorf("metaOf accepted a Meta that is not the engine's")
	}
}
