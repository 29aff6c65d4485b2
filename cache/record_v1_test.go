package cache

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/google/go-cmp/cmp"
	"github.com/zeebo/blake3"
)

// v1Value is an index value as refeval wrote it before Entry.Meta: the
// engine's fields beside the cache's, in the old field order.
func v1Value(oid ID, files []File) []byte {
	fj, _ := json.Marshal(files)
	return []byte(fmt.Sprintf(`{"OutputID":%q,"Files":%s,"Config":{"n":"5"},"Inputs":{"data/x.jsonl":"ab"},`+
		`"Upstream":{"stage.sample.train":"cd"},"Kind":"exec","KindVersion":"1","Addr":"stage.exec.x","Pipeline":"/p.hcl",`+
		`"Created":"1970-01-01T00:01:40Z","LastUsed":"1970-01-01T00:03:20Z","Duration":3000000000}`, oid.String(), fj))
}

// v1Record is the entry record of a v1 value, with the digest over its
// bytes as they were written.
func v1Record(v []byte) []byte {
	var b bytes.Buffer
	b.WriteString(recordHeader + ID(blake3.Sum256(v)).String() + "\n")
	b.Write(v)
	return b.Bytes()
}

// TestReadV1Entries reads entries of the first layout from the index and
// from a record: their Addr and Pipeline become Name and Scope, the rest of
// the caller's fields Meta; LastFor finds them after a rebuild from the
// records; written back, they take the new layout and still read the same.
func TestReadV1Entries(t *testing.T) {
	c := openTest(t)
	id, files := commit(t, c, map[string]string{"a": "1"})
	v := v1Value(id, files)
	want := &Entry{OutputID: id, Files: files, Name: "stage.exec.x", Scope: "/p.hcl",
		Meta:    []byte(`{"Config":{"n":"5"},"Inputs":{"data/x.jsonl":"ab"},"Kind":"exec","KindVersion":"1","Upstream":{"stage.sample.train":"cd"}}`),
		Created: time.Unix(100, 0).UTC(), LastUsed: time.Unix(200, 0).UTC(), Duration: 3 * time.Second}

	for name, decode := range map[string]func() (*Entry, error){
		"index value": func() (*Entry, error) { return decodeEntry(v) },
		"record":      func() (*Entry, error) { return decodeRecord(v1Record(v)) },
	} {
		got, err := decode()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: wrong entry (-want +got):\n%s", name, diff)
		}
	}

	// An old cache: the entry in the index and its record in entry/.
	action := NewHash("v1", nil).Sum()
	must(t, os.WriteFile(c.recordPath(action), v1Record(v), 0o444))
	must(t, c.update(func(txn *badger.Txn) error {
		if err := txn.Set(actionKey(action), v); err != nil {
			return err
		}
		if err := txn.Set(lastKey("/p.hcl", "stage.exec.x"), action[:]); err != nil {
			return err
		}
		return flipRecordSum(txn, action)
	}))
	got, err := c.Get(action)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.Meta, got.Meta); diff != "" || got.Name != want.Name {
		t.Errorf("wrong entry from an old index (-want +got):\n%s%s", diff, got.Name)
	}
	if a, e, err := c.LastFor("/p.hcl", "stage.exec.x"); err != nil || a != action || string(e.Meta) != string(want.Meta) {
		t.Errorf("wrong LastFor of an old entry\ngot:  %s %v\nwant: %s", a, err, action)
	}
	// Rebuilt from the old record alone, the index points LastFor at it.
	rep, err := c.reopenRebuilt(fmt.Errorf("%w: a test", errIndexDamaged), false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Restored != 1 {
		t.Errorf("wrong rebuild: %+v", rep)
	}
	if a, e, err := c.LastFor("/p.hcl", "stage.exec.x"); err != nil || a != action || string(e.Meta) != string(want.Meta) {
		t.Errorf("wrong LastFor after a rebuild from an old record\ngot:  %s %v\nwant: %s", a, err, action)
	}
}
