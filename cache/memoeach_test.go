package cache

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMemoEachSeesOnlyItsNamespace(t *testing.T) {
	c := openTest(t)
	put := func(ns, k, v string) {
		if err := c.Memo(ns).Put(k, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	put("sample", "b", "2")
	put("sample", "a", "1")
	put("samplex", "a", "other namespace")
	put("score", "a", "3")
	got := map[string]string{}
	if err := c.Memo("sample").Each(func(k string, v []byte) error { got[k] = string(v); return nil }); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"a": "1", "b": "2"}, got); d != "" {
		t.Errorf("wrong memos (-want +got):\n%s", d)
	}
}
