package cache

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestParseID(t *testing.T) {
	var id ID
	for i := range id {
		id[i] = byte(i * 7)
	}
	tests := []struct {
		name    string
		in      string
		want    ID
		wantErr bool
	}{
		{"round trip", id.String(), id, false},
		{"upper case", strings.ToUpper(id.String()), id, false},
		{"short", id.String()[:10], ID{}, true},
		{"not hex", strings.Repeat("zz", 32), ID{}, true},
		{"empty", "", ID{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseID(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("wrong error\ngot:  %v\nwant error: %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("wrong id\ngot:  %s\nwant: %s", got, tt.want)
			}
		})
	}
}

func TestHash(t *testing.T) {
	sum := func(name string, lines ...string) ID {
		h := NewHash(name, nil)
		for _, l := range lines {
			h.Line("%s", l)
		}
		return h.Sum()
	}
	tests := []struct {
		name  string
		a, b  func() ID
		equal bool
	}{
		{"deterministic", func() ID { return sum("s", "kind sample", "n 5") }, func() ID { return sum("s", "kind sample", "n 5") }, true},
		{"line changes", func() ID { return sum("s", "n 5") }, func() ID { return sum("s", "n 6") }, false},
		{"order matters", func() ID { return sum("s", "a", "b") }, func() ID { return sum("s", "b", "a") }, false},
		{"name matters", func() ID { return sum("s1", "a") }, func() ID { return sum("s2", "a") }, false},
		{"newline in a line", func() ID { return sum("s", "a\nb") }, func() ID { return sum("s", "a", "b") }, false},
		{"quoted line", func() ID { return sum("s", "a\nb") }, func() ID { return sum("s", `"a\nb"`) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := tt.a(), tt.b()
			if (a == b) != tt.equal {
				t.Errorf("wrong equality\ngot:  %s vs %s\nwant equal: %v", a, b, tt.equal)
			}
		})
	}
}

func TestHashDebug(t *testing.T) {
	var buf bytes.Buffer
	h := NewHash("stage.exec.x", &buf)
	h.Line("config %s=%d", "n", 5)
	id := h.Sum()
	want := "HASH[stage.exec.x]: " + hashSalt + " stage.exec.x\n" +
		"HASH[stage.exec.x]: config n=5\n" +
		"HASH[stage.exec.x]: " + id.String() + "\n"
	if got := buf.String(); got != want {
		t.Errorf("wrong debug output\ngot:  %#v\nwant: %#v", got, want)
	}
	if id2 := NewHash("stage.exec.x", nil); func() ID { id2.Line("config n=5"); return id2.Sum() }() != id {
		t.Errorf("debug writer changed the sum")
	}
}

func TestIDJSON(t *testing.T) {
	id := NewHash("x", nil).Sum()
	b, err := json.Marshal(map[string]ID{"output": id})
	must(t, err)
	if want := `{"output":"` + id.String() + `"}`; string(b) != want {
		t.Errorf("wrong JSON\ngot:  %s\nwant: %s", b, want)
	}
	var back map[string]ID
	must(t, json.Unmarshal(b, &back))
	if back["output"] != id {
		t.Errorf("wrong round trip\ngot:  %s\nwant: %s", back["output"], id)
	}
	if err := json.Unmarshal([]byte(`{"output":"zz"}`), &back); err == nil {
		t.Errorf("no error for a malformed id")
	}
}
