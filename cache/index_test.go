package cache

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"
)

func TestMemoSurvivesReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	big := bytes.Repeat([]byte("x"), 200<<10) // above ValueThreshold: lives in the value log
	tests := []struct {
		ns, key string
		val     []byte
	}{
		{"sample/1", "item-0", []byte(`{"text":"a"}`)},
		{"sample/1", "item-1", []byte{}},
		{"score/1", "item-0", []byte("other namespace")},
		{"s", "ample/1item-0", []byte("no collision with sample/1 item-0")},
		{"logprobs/1", "big", big},
	}
	c, err := Open(dir, Options{NoWait: true})
	must(t, err)
	for _, tt := range tests {
		must(t, c.Memo(tt.ns).Put(tt.key, tt.val))
	}
	must(t, c.Close())

	c, err = Open(dir, Options{NoWait: true})
	must(t, err)
	defer c.Close()
	for _, tt := range tests {
		t.Run(tt.ns+"/"+tt.key, func(t *testing.T) {
			got, ok, err := c.Memo(tt.ns).Get(tt.key)
			if err != nil || !ok || !bytes.Equal(got, tt.val) {
				t.Errorf("wrong memo value\ngot:  %q, %v, %v\nwant: %.40q, true", got, ok, err, tt.val)
			}
		})
	}
	if _, ok, err := c.Memo("sample/1").Get("item-2"); ok || err != nil {
		t.Errorf("wrong result for a missing key\ngot:  %v, %v\nwant: false, nil", ok, err)
	}
}

func TestLastFor(t *testing.T) {
	c := openTest(t)
	id, files := commit(t, c, map[string]string{"a": "1"})
	put := func(name, pipeline, addr string) ID {
		a := NewHash(name, nil).Sum()
		must(t, c.Put(a, &Entry{OutputID: id, Files: files, Scope: pipeline, Name: addr, Meta: []byte(`"` + name + `"`)}))
		return a
	}
	put("first", "p.hcl", "stage.dpo.beta")
	second := put("second", "p.hcl", "stage.dpo.beta")
	other := put("other", "q.hcl", "stage.dpo.beta")
	tests := []struct {
		pipeline, addr string
		want           ID
		wantName       string
	}{
		{"p.hcl", "stage.dpo.beta", second, "second"},
		{"q.hcl", "stage.dpo.beta", other, "other"},
		{"p.hcl", "stage.dpo.gamma", ID{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.pipeline+" "+tt.addr, func(t *testing.T) {
			got, e, err := c.LastFor(tt.pipeline, tt.addr)
			if tt.wantName == "" {
				if err != ErrNotFound {
					t.Errorf("wrong error\ngot:  %v\nwant: %v", err, ErrNotFound)
				}
				return
			}
			if err != nil || got != tt.want || string(e.Meta) != `"`+tt.wantName+`"` {
				t.Errorf("wrong last entry\ngot:  %s %v %v\nwant: %s %s", got, e, err, tt.want, tt.wantName)
			}
		})
	}
}

// TestTouch checks Touch, and TouchEntry with the entry Get returned:
// both write LastUsed only when the recorded one is over an hour old, and
// TouchEntry leaves the entry it is given as it was.
func TestTouch(t *testing.T) {
	touches := []struct {
		name  string
		touch func(c *Cache, a ID) error
	}{
		{"Touch", (*Cache).Touch},
		{"TouchEntry", func(c *Cache, a ID) error {
			e, err := c.Get(a)
			if err != nil {
				return err
			}
			before := e.LastUsed
			err = c.TouchEntry(a, e)
			if !e.LastUsed.Equal(before) {
				t.Errorf("TouchEntry changed the entry it was given: LastUsed %v, was %v", e.LastUsed, before)
			}
			return err
		}},
	}
	for _, tc := range touches {
		t.Run(tc.name, func(t *testing.T) {
			c := openTest(t)
			now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
			c.now = func() time.Time { return now }
			id, files := commit(t, c, map[string]string{"a": "1"})
			a := NewHash("a", nil).Sum()
			must(t, c.Put(a, &Entry{OutputID: id, Files: files}))
			tests := []struct {
				advance time.Duration
				want    time.Time
			}{
				{10 * time.Minute, now},                       // too soon: no write
				{61 * time.Minute, now.Add(71 * time.Minute)}, // over an hour since the recorded use
			}
			for _, tt := range tests {
				now = now.Add(tt.advance)
				must(t, tc.touch(c, a))
				e, err := c.Get(a)
				must(t, err)
				if !e.LastUsed.Equal(tt.want) {
					t.Errorf("wrong LastUsed after %v\ngot:  %v\nwant: %v", tt.advance, e.LastUsed, tt.want)
				}
			}
		})
	}
	c := openTest(t)
	if err := c.Touch(NewHash("absent", nil).Sum()); err != ErrNotFound {
		t.Errorf("wrong error touching an absent entry\ngot:  %v\nwant: %v", err, ErrNotFound)
	}
}

func TestDropMemos(t *testing.T) {
	c := openTest(t)
	must(t, c.Memo("a").Put("k", []byte("1")))
	must(t, c.Memo("ab").Put("k", []byte("2")))
	tests := []struct {
		ns        string
		wantFound bool
	}{{"a", true}, {"a", false}, {"zzz", false}}
	for _, tt := range tests {
		found, err := c.DropMemos(tt.ns)
		if err != nil || found != tt.wantFound {
			t.Errorf("DropMemos(%q): wrong result\ngot:  %v, %v\nwant: %v, nil", tt.ns, found, err, tt.wantFound)
		}
	}
	if _, ok, _ := c.Memo("a").Get("k"); ok {
		t.Errorf("memo of dropped namespace a still there")
	}
	if v, ok, _ := c.Memo("ab").Get("k"); !ok || string(v) != "2" {
		t.Errorf("memo of namespace ab lost with a: %q, %v", v, ok)
	}
}
