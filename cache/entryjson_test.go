package cache

import (
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestDecodeEntryFast checks which values the fast path takes (every
// value encodeEntry writes for names without escapes) and that it
// decodes them to what encoding/json does.
func TestDecodeEntryFast(t *testing.T) {
	files := []File{{Name: "a/b.txt", Size: 3, Digest: ID{1}, Mode: 0o444}, {Name: "c", Size: 1 << 40, Digest: ID{2}, Mode: 0o555}}
	at := time.Date(2026, 12, 5, 2, 8, 16, 358565746, time.UTC)
	entry := func(edit func(e *Entry)) []byte {
		e := &Entry{OutputID: OutputIDOf(files), Files: files, Name: "stage.exec.a", Scope: "/p.hcl",
			Meta:    []byte(`{"Config":{"command":"[\"sh\",\"-c\",\"cat a \u003e $OUT/o\"]"},"Kind":"exec"}`),
			Created: at, LastUsed: at.Add(time.Hour), Duration: 5031971}
		if edit != nil {
			edit(e)
		}
		v, err := encodeEntry(e)
		must(t, err)
		return v
	}
	tests := []struct {
		name string
		in   []byte
		fast bool
	}{
		{"as written", entry(nil), true},
		{"no files", entry(func(e *Entry) { e.Files = []File{} }), true},
		{"nil files", entry(func(e *Entry) { e.Files = nil }), true},
		{"no names", entry(func(e *Entry) { e.Name, e.Scope = "", "" }), true},
		{"zero times", entry(func(e *Entry) { e.Created, e.LastUsed, e.Duration = time.Time{}, time.Time{}, 0 }), true},
		{"time zone", entry(func(e *Entry) { e.Created = at.In(time.FixedZone("", 2*3600)) }), true},
		{"unicode name", entry(func(e *Entry) { e.Name = "stage.exec.é" }), true},
		{"meta with < and unicode", entry(func(e *Entry) { e.Meta = []byte(`{"k":"<é>"}`) }), true},
		{"meta array", entry(func(e *Entry) { e.Meta = []byte(`[1,{"a":[]}]`) }), true},
		{"white space", []byte(" { \"OutputID\" : \"" + OutputIDOf(nil).String() + "\" ,\n\"Meta\":{}} "), true},
		{"quote in name", entry(func(e *Entry) { e.Name = `a"b` }), false},
		{"no meta", entry(func(e *Entry) { e.Meta = nil }), false},
		{"meta null", []byte(`{"Meta":null}`), false},
		{"meta not compact", []byte(`{"Meta":{"a": 1}}`), false},
		{"meta raw <", []byte(`{"Meta":{"a":"<"}}`), false},
		{"meta raw U+2028", []byte("{\"Meta\":{\"a\":\"\u2028\"}}"), false},
		{"meta raw &", []byte(`{"Meta":{"a":"&"}}`), false},
		{"meta invalid", []byte(`{"Meta":{"a":01}}`), false},
		{"meta unclosed", []byte(`{"Meta":{"a":[1}`), false},
		{"other field", []byte(`{"Meta":{},"Addr":"x"}`), false},
		{"field in other case", []byte(`{"Meta":{},"name":"x"}`), false},
		{"duplicate field", []byte(`{"Meta":{},"Name":"x","Name":"y"}`), false},
		{"mode minus zero", []byte(`{"Meta":{},"Files":[{"Mode":-0}]}`), false},
		{"mode too big", []byte(`{"Meta":{},"Files":[{"Mode":4294967296}]}`), false},
		{"size as float", []byte(`{"Meta":{},"Files":[{"Size":1.0}]}`), false},
		{"size leading zero", []byte(`{"Meta":{},"Files":[{"Size":01}]}`), false},
		{"bad id", []byte(`{"Meta":{},"OutputID":"zz"}`), false},
		{"bad time", []byte(`{"Meta":{},"Created":"yesterday"}`), false},
		{"trailing bytes", []byte(`{"Meta":{}} x`), false},
		{"control character", []byte("{\"Meta\":{},\"Name\":\"a\tb\"}"), false},
		{"invalid utf-8", []byte("{\"Meta\":{},\"Name\":\"a\xffb\"}"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fast Entry
			if got := decodeEntryFast(tt.in, &fast); got != tt.fast {
				t.Fatalf("wrong fast-path choice for %s\ngot:  %v\nwant: %v", tt.in, got, tt.fast)
			}
			if tt.fast {
				sameAsJSON(t, tt.in, &fast)
			}
		})
	}
}

// FuzzDecodeEntryFast checks, on arbitrary bytes, that whatever the fast
// path accepts encoding/json accepts too and decodes to the same Entry.
func FuzzDecodeEntryFast(f *testing.F) {
	files := []File{{Name: "a/b.txt", Size: 3, Digest: ID{1}, Mode: 0o444}}
	v, _ := encodeEntry(&Entry{OutputID: OutputIDOf(files), Files: files, Name: "n", Scope: "s",
		Meta: []byte(`{"Config":{"k":"v<"},"Inputs":{"in.txt":"03"}}`), Created: time.Unix(1, 2).UTC(), Duration: 7})
	f.Add(v)
	f.Add([]byte(`{"Meta":{"a":[1,"]}"]},"Files":[{"Name":"x","Mode":0,"Size":-0}]}`))
	f.Add([]byte(`{"Meta":{},"Files":[]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var fast Entry
		if decodeEntryFast(b, &fast) {
			sameAsJSON(t, b, &fast)
		}
	})
}

// sameAsJSON checks that encoding/json decodes b to fast.
func sameAsJSON(t *testing.T, b []byte, fast *Entry) {
	t.Helper()
	var slow Entry
	if err := decodeEntryJSON(b, &slow); err != nil {
		t.Fatalf("the fast path accepted what encoding/json refuses (%v): %q", err, b)
	}
	if !reflect.DeepEqual(&slow, fast) {
		t.Fatalf("the fast path decoded %q differently (-json +fast):\n%s", b, cmp.Diff(&slow, fast))
	}
}
