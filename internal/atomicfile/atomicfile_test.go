package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteBytes(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.json")
	if err := WriteBytes(p, []byte("one")); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(p, []byte("two")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "two" {
		t.Errorf("wrong content\ngot:  %q, %v\nwant: %q", got, err, "two")
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("wrong mode\ngot:  %v\nwant: %v", fi.Mode().Perm(), os.FileMode(0o644))
	}
}

func TestWriteFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.jsonl")
	if err := WriteBytes(p, []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := Write(p, func(w io.Writer) error {
		io.WriteString(w, "half")
		return boom
	})
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), p) {
		t.Errorf("wrong error\ngot:  %v\nwant: one naming %s and wrapping %v", err, p, boom)
	}
	if got, _ := os.ReadFile(p); string(got) != "old" {
		t.Errorf("a failed write changed the file: %q", got)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary file left behind: %v", ents)
	}
}

func TestWriteMissingFolder(t *testing.T) {
	p := filepath.Join(t.TempDir(), "no", "such", "x")
	if err := WriteBytes(p, nil); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("wrong error for a missing folder: %v", err)
	}
}
