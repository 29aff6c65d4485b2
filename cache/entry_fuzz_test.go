package cache

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecodeEntry feeds arbitrary bytes to the decoders of index values
// and entry records: they must never panic, and what they accept must
// name an output consistent with its manifest and encode back to an
// equal entry. scripts/test.sh runs it for a fixed time in CI.
func FuzzDecodeEntry(f *testing.F) {
	files := []File{{Name: "a/b.txt", Size: 3, Digest: ID{1}, Mode: 0o444}, {Name: "c", Size: 0, Digest: ID{2}, Mode: 0o555}}
	e := &Entry{OutputID: OutputIDOf(files), Files: files, Name: "stage.exec.a", Scope: "/p.hcl",
		Meta: []byte(`{"Config":{"k":"v"},"Inputs":{"in.txt":"03"},"Kind":"exec","KindVersion":"1"}`)}
	v, _ := encodeEntry(e)
	r, _ := encodeRecord(e)
	f.Add(v)
	f.Add(r)
	v1 := v1Value(OutputIDOf(files), files)
	f.Add(v1)
	f.Add(v1Record(v1))
	f.Add([]byte(`{"Meta":null,"Addr":"x","Foo":1}`))
	f.Add([]byte(`{"OutputID":"zz"}`))
	f.Add([]byte(recordHeader + "00\n{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, decode := range []func([]byte) (*Entry, error){decodeEntry, decodeRecord} {
			e, err := decode(b)
			if err != nil {
				continue
			}
			if OutputIDOf(e.Files) != e.OutputID || e.OutputID.IsZero() {
				t.Fatalf("accepted an entry whose manifest does not hash to its OutputID: %q", b)
			}
			v, err := encodeEntry(e)
			if err != nil {
				t.Fatalf("cannot encode an accepted entry: %v", err)
			}
			e2, err := decodeEntry(v)
			if err != nil {
				t.Fatalf("an accepted entry does not decode after encoding: %v\n%s", err, v)
			}
			if diff := cmp.Diff(e, e2); diff != "" {
				t.Fatalf("entry changed by encoding (-before +after):\n%s", diff)
			}
			r, err := encodeRecord(e)
			if err != nil {
				t.Fatal(err)
			}
			if e3, err := decodeRecord(r); err != nil || !bytes.Equal(mustEncode(t, e3), v) {
				t.Fatalf("record of an accepted entry does not round-trip: %v", err)
			}
		}
	})
}

func mustEncode(t *testing.T, e *Entry) []byte {
	t.Helper()
	if e == nil {
		return nil
	}
	v, err := encodeEntry(e)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
