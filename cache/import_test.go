package cache

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommitVerified writes a downloaded output's files into a folder from
// NewOutputDir, as a remote fetch does, and commits it against the
// manifest: only a folder holding exactly the manifest's plain files, with
// their sizes, becomes the output, read-only; anything else is an error
// naming the file.
func TestCommitVerified(t *testing.T) {
	src := map[string]string{"a.txt": "aa", "sub/b.txt": "b", "sub-c.txt": "c"}
	tests := []struct {
		name    string
		mangle  func(t *testing.T, tmp string, files []File) []File
		wantErr string // "" for a commit
		corrupt bool   // the error wraps ErrCorrupt
	}{
		{"intact", func(t *testing.T, tmp string, files []File) []File { return files }, "", false},
		{"extra file", func(t *testing.T, tmp string, files []File) []File {
			must(t, os.WriteFile(filepath.Join(tmp, "sub", "x.txt"), nil, 0o644))
			return files
		}, "sub/x.txt is not in the manifest", false},
		{"missing file", func(t *testing.T, tmp string, files []File) []File {
			must(t, os.Remove(filepath.Join(tmp, "sub", "b.txt")))
			return files
		}, "sub/b.txt is missing", false},
		{"wrong size", func(t *testing.T, tmp string, files []File) []File {
			must(t, os.WriteFile(filepath.Join(tmp, "a.txt"), []byte("a"), 0o644))
			return files
		}, "a.txt has 1 bytes, want 2", false},
		{"symbolic link", func(t *testing.T, tmp string, files []File) []File {
			must(t, os.Remove(filepath.Join(tmp, "a.txt")))
			must(t, os.WriteFile(filepath.Join(tmp, "target"), []byte("aa"), 0o644))
			must(t, os.Symlink("target", filepath.Join(tmp, "a.txt")))
			return files
		}, "a.txt is a symbolic link", false},
		{"manifest of another output", func(t *testing.T, tmp string, files []File) []File {
			files = append([]File(nil), files...)
			files[0].Size++
			return files
		}, "the manifest does not match OutputID", true},
		{"unsorted manifest", func(t *testing.T, tmp string, files []File) []File {
			return []File{files[1], files[0], files[2]}
		}, "unsorted manifest name", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Open(t.TempDir(), Options{NoWait: true})
			must(t, err)
			defer c.Close()
			srcDir := t.TempDir()
			for n, s := range src {
				p := filepath.Join(srcDir, filepath.FromSlash(n))
				must(t, os.MkdirAll(filepath.Dir(p), 0o755))
				must(t, os.WriteFile(p, []byte(s), 0o644))
			}
			id, files, err := ManifestOf(srcDir)
			must(t, err)
			tmp, err := c.NewOutputDir()
			must(t, err)
			must(t, os.CopyFS(tmp, os.DirFS(srcDir)))
			files = tt.mangle(t, tmp, files)
			if tt.name == "unsorted manifest" {
				id = OutputIDOf(files) // the manifest's own OutputID, so that the order is what fails
			}
			err = c.CommitVerified(tmp, id, files)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("CommitVerified: %v, want an error saying %q", err, tt.wantErr)
				}
				if tt.corrupt != errors.Is(err, ErrCorrupt) {
					t.Errorf("CommitVerified: %v; wraps ErrCorrupt: %v, want %v", err, !tt.corrupt, tt.corrupt)
				}
				if c.HasOutput(id, files) {
					t.Errorf("output %s is in the cache after a failed commit", id)
				}
				must(t, c.DiscardOutputDir(tmp))
				return
			}
			if err != nil {
				t.Fatalf("CommitVerified: %v", err)
			}
			if !c.HasOutput(id, files) {
				t.Fatalf("output %s is not in the cache after CommitVerified", id)
			}
			must(t, c.VerifyOutput(id, files))
			fi, err := os.Stat(filepath.Join(c.OutputDir(id), "sub", "b.txt"))
			must(t, err)
			if fi.Mode().Perm()&0o222 != 0 {
				t.Errorf("committed file has mode %v, want read-only", fi.Mode())
			}
		})
	}
}
