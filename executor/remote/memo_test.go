package remote

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type mapMemo map[string]string

func (m mapMemo) Each(fn func(string, []byte) error) error {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := fn(k, []byte(m[k])); err != nil {
			return err
		}
	}
	return nil
}

func readAll(t *testing.T, path string) map[string]string {
	t.Helper()
	got := map[string]string{}
	if err := ReadMemos(path, func(k string, v []byte) error { got[k] = string(v); return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestMemoRoundTrip checks that memos go to a job and back: the job sees
// what the build sent and what an earlier attempt added, and a record cut
// off by a killed job is dropped, not misread.
func TestMemoRoundTrip(t *testing.T) {
	dir := t.TempDir()
	in, out := filepath.Join(dir, MemoInFile), filepath.Join(dir, MemoOutFile)
	if err := WriteMemos(in, mapMemo{"a": "1", "": "empty key", "bin": "\x00\xff"}); err != nil {
		t.Fatal(err)
	}
	fm, err := OpenFileMemo(in, out)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := fm.Get("bin"); !ok || string(v) != "\x00\xff" {
		t.Errorf("wrong memo for bin: %q %v", v, ok)
	}
	if err := fm.Put("b", []byte("2")); err != nil {
		t.Fatal(err)
	}
	fm.Close()

	// A second attempt sees the first one's memo.
	fm, err = OpenFileMemo(in, out)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok, _ := fm.Get("b"); !ok || string(v) != "2" {
		t.Errorf("second attempt: wrong memo for b: %q %v", v, ok)
	}
	if err := fm.Put("c", []byte("33333")); err != nil {
		t.Fatal(err)
	}
	fm.Close()

	if d := cmp.Diff(map[string]string{"b": "2", "c": "33333"}, readAll(t, out)); d != "" {
		t.Errorf("wrong memos back (-want +got):\n%s", d)
	}
	// Cut the last record in half: only the complete one comes back.
	fi, _ := os.Stat(out)
	if err := os.Truncate(out, fi.Size()-3); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"b": "2"}, readAll(t, out)); d != "" {
		t.Errorf("cut-off file: wrong memos (-want +got):\n%s", d)
	}
	if got := readAll(t, filepath.Join(dir, "missing")); len(got) != 0 {
		t.Errorf("missing file: got %v, want none", got)
	}
}
