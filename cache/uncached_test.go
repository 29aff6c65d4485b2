package cache

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUncachedDigestsMatch checks that a job without the cache reports the
// digests and OutputIDs the committing process computes.
func TestUncachedDigestsMatch(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
	}{
		{"one file", map[string]string{"out.jsonl": "{\"a\":1}\n"}},
		{"nested and executable", map[string]string{"b.jsonl": "{}\n", "sub/a.txt": "hello", "run.sh*": "#!/bin/sh\n", "empty": ""}},
		{"big", map[string]string{"w.bin": string(make([]byte, 3*segmentSize+5))}},
		{"deep", map[string]string{"a/b/c/d.txt": "deep", "a/e.txt": "e"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openTest(t)
			dir := t.TempDir()
			writeFiles(t, dir, tt.files)
			want, err := c.DigestPath(dir)
			if err != nil {
				t.Fatal(err)
			}
			got, err := DigestPathUncached(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("wrong folder digest\ngot:  %s\nwant: %s", got, want)
			}
			for name := range tt.files {
				p := filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(name, "*")))
				w, _ := c.DigestPath(p)
				g, err := DigestPathUncached(p)
				if err != nil || g != w {
					t.Errorf("%s: wrong file digest\ngot:  %s (%v)\nwant: %s", name, g, err, w)
				}
			}

			tmp, err := c.NewOutputDir()
			if err != nil {
				t.Fatal(err)
			}
			writeFiles(t, tmp, tt.files)
			gotID, gotFiles, err := ManifestOf(tmp)
			if err != nil {
				t.Fatal(err)
			}
			wantID, wantFiles, err := c.CommitOutput(tmp)
			if err != nil {
				t.Fatal(err)
			}
			if gotID != wantID {
				t.Errorf("wrong OutputID\ngot:  %s\nwant: %s", gotID, wantID)
			}
			if d := cmp.Diff(wantFiles, gotFiles); d != "" {
				t.Errorf("wrong manifest (-want +got):\n%s", d)
			}
		})
	}
	if _, err := DigestPathUncached(filepath.Join(t.TempDir(), "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing path: got %v, want a not-exist error", err)
	}
}
