package cache

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
	"github.com/google/go-cmp/cmp"
)

// commit writes files into a fresh output folder and commits it.
// putTest opens a test cache, commits files as an output and puts it as
// the entry of the action hashed from name, made by stage.exec.x.
func putTest(t testing.TB, name string, files map[string]string) (c *Cache, action, id ID, manifest []File) {
	t.Helper()
	c = openTest(t)
	id, manifest = commit(t, c, files)
	action = NewHash(name, nil).Sum()
	must(t, c.Put(action, &Entry{OutputID: id, Files: manifest, Name: "stage.exec.x"}))
	return c, action, id, manifest
}

func commit(t testing.TB, c *Cache, files map[string]string) (ID, []File) {
	t.Helper()
	tmp, err := c.NewOutputDir()
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, tmp, files)
	id, manifest, err := c.CommitOutput(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp folder %s still there after commit (err %v)", tmp, err)
	}
	return id, manifest
}

func TestCommitOutputThenGet(t *testing.T) {
	c := openTest(t)
	id, files := commit(t, c, map[string]string{"b.jsonl": "{}\n", "sub/a.txt": "hello", "run.sh*": "#!/bin/sh\n", "empty": ""})

	wantNames := []string{"b.jsonl", "empty", "run.sh", "sub/a.txt"}
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
	}
	if diff := cmp.Diff(wantNames, names); diff != "" {
		t.Errorf("wrong manifest names (-want +got):\n%s", diff)
	}
	if got := OutputIDOf(files); got != id {
		t.Errorf("wrong OutputID\ngot:  %s\nwant: %s", got, id)
	}
	for _, f := range files {
		p := filepath.Join(c.OutputDir(id), filepath.FromSlash(f.Name))
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		wantMode := os.FileMode(0o444)
		if f.Name == "run.sh" {
			wantMode = 0o555
		}
		if fi.Mode().Perm() != wantMode || f.Mode != wantMode {
			t.Errorf("wrong mode of %s\ngot:  %v (manifest %v)\nwant: %v", f.Name, fi.Mode().Perm(), f.Mode, wantMode)
		}
		b, _ := os.ReadFile(p)
		if DigestBytes(b) != f.Digest || int64(len(b)) != f.Size {
			t.Errorf("wrong digest or size of %s", f.Name)
		}
	}

	action := NewHash("stage.exec.x", nil).Sum()
	if _, err := c.Get(action); err != ErrNotFound {
		t.Fatalf("wrong error before Put\ngot:  %v\nwant: %v", err, ErrNotFound)
	}
	want := &Entry{
		OutputID: id, Files: files,
		Name: "stage.exec.x", Scope: "p.hcl",
		Meta:    []byte(`{"Config":{"n":"5"},"Kind":"exec","Upstream":{"stage.sample.train":"` + id.String() + `"}}`),
		Created: time.Unix(100, 0).UTC(), LastUsed: time.Unix(200, 0).UTC(),
		Duration: 3 * time.Second,
	}
	if err := c.Put(action, want); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(action)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("wrong entry (-want +got):\n%s", diff)
	}

	// The same content committed again is the same output; the temp folder goes.
	id2, _ := commit(t, c, map[string]string{"b.jsonl": "{}\n", "sub/a.txt": "hello", "run.sh*": "#!/bin/sh\n", "empty": ""})
	if id2 != id {
		t.Errorf("wrong OutputID for identical content\ngot:  %s\nwant: %s", id2, id)
	}
	// Any difference, the exec bit included, is another output.
	for name, files := range map[string]map[string]string{
		"content":  {"b.jsonl": "{}\n", "sub/a.txt": "hellO", "run.sh*": "#!/bin/sh\n", "empty": ""},
		"exec bit": {"b.jsonl": "{}\n", "sub/a.txt": "hello", "run.sh": "#!/bin/sh\n", "empty": ""},
		"rename":   {"b.jsonl": "{}\n", "sub/b.txt": "hello", "run.sh*": "#!/bin/sh\n", "empty": ""},
	} {
		if id3, _ := commit(t, c, files); id3 == id {
			t.Errorf("%s change: OutputID did not change", name)
		}
	}
}

func TestCommitOutputRejects(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		wantErr string
	}{
		{"symlink", func(t *testing.T, dir string) {
			writeFiles(t, dir, map[string]string{"a": "x"})
			if err := os.Symlink("a", filepath.Join(dir, "link")); err != nil {
				t.Skip(err)
			}
		}, "link is a symbolic link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openTest(t)
			tmp, err := c.NewOutputDir()
			if err != nil {
				t.Fatal(err)
			}
			tt.prepare(t, tmp)
			_, _, err = c.CommitOutput(tmp)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("wrong error\ngot:  %v\nwant: …%s…", err, tt.wantErr)
			}
		})
	}
}

func TestCorruptOutput(t *testing.T) {
	files := map[string]string{"a.txt": "alpha", "sub/b.txt": "bravo"}
	tests := []struct {
		name       string
		damage     func(t *testing.T, dir string)
		getCorrupt bool   // Get notices
		wantInErr  string // VerifyOutput names this
	}{
		{"file removed", func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, "sub/b.txt"))) }, true, "sub/b.txt (missing)"},
		{"file truncated", func(t *testing.T, dir string) { overwrite(t, filepath.Join(dir, "a.txt"), "al") }, true, "a.txt (2 bytes, want 5)"},
		{"same size, other bytes", func(t *testing.T, dir string) { overwrite(t, filepath.Join(dir, "a.txt"), "ALPHA") }, true, "a.txt (content changed)"},
		{"same size, other bytes, mtime restored", func(t *testing.T, dir string) {
			p := filepath.Join(dir, "sub/b.txt")
			fi, err := os.Stat(p)
			must(t, err)
			overwrite(t, p, "BRAVO")
			must(t, os.Chtimes(p, fi.ModTime(), fi.ModTime())) // only ctime tells
		}, true, "sub/b.txt (content changed)"},
		{"exec bit set", func(t *testing.T, dir string) { must(t, os.Chmod(filepath.Join(dir, "a.txt"), 0o555)) }, true, "a.txt"},
		{"extra file", func(t *testing.T, dir string) { must(t, os.WriteFile(filepath.Join(dir, "c.txt"), nil, 0o644)) }, true, "c.txt (not in the manifest)"},
		{"extra file in a subfolder", func(t *testing.T, dir string) { must(t, os.WriteFile(filepath.Join(dir, "sub/c.txt"), nil, 0o644)) }, true, "sub/c.txt (not in the manifest)"},
		{"extra empty folder", func(t *testing.T, dir string) { must(t, os.Mkdir(filepath.Join(dir, "sub/new"), 0o755)) }, true, "sub/new/ (folder not in the output)"},
		{"folder removed", func(t *testing.T, dir string) { must(t, RemoveTree(dir)) }, true, "folder missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, action, id, manifest := putTest(t, tt.name, files)
			if err := c.VerifyOutput(id, manifest); err != nil {
				t.Fatalf("intact output fails verification: %v", err)
			}
			tt.damage(t, c.OutputDir(id))

			_, err := c.Get(action)
			if got := errors.Is(err, ErrCorrupt); got != tt.getCorrupt {
				t.Errorf("wrong Get result\ngot:  %v\nwant ErrCorrupt: %v", err, tt.getCorrupt)
			}
			err = c.VerifyOutput(id, manifest)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.wantInErr) {
				t.Errorf("wrong VerifyOutput error\ngot:  %v\nwant: …%s…: %v", err, tt.wantInErr, ErrCorrupt)
			}

			rep, err := c.Verify()
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Corrupt) != 1 || rep.Corrupt[0].OutputID != id || rep.Corrupt[0].Names[0] != "stage.exec.x" {
				t.Fatalf("wrong Verify report\ngot:  %#v\nwant: one corrupt output %s", rep, id)
			}
			must(t, c.Repair(rep))
			if _, err := c.Get(action); err != ErrNotFound {
				t.Errorf("wrong Get after Repair\ngot:  %v\nwant: %v", err, ErrNotFound)
			}
			// Committing the same output again heals the cache.
			if id2, _ := commit(t, c, files); id2 != id {
				t.Errorf("wrong OutputID after repair\ngot:  %s\nwant: %s", id2, id)
			}
			if err := c.VerifyOutput(id, manifest); err != nil {
				t.Errorf("recommitted output fails verification: %v", err)
			}
		})
	}
}

// TestGetRereadsOnlyChangedFiles checks that Get reads no file of an
// untouched output, rehashes a file whose stat changed, and remembers the
// new stat when the content is intact.
func TestGetRereadsOnlyChangedFiles(t *testing.T) {
	c := openTest(t)
	r := countReads(t)
	id, manifest := commit(t, c, map[string]string{"a.txt": "alpha", "b.txt": "bravo"})
	action := NewHash("x", nil).Sum()
	must(t, c.Put(action, &Entry{OutputID: id, Files: manifest}))
	a, b := filepath.Join(c.OutputDir(id), "a.txt"), filepath.Join(c.OutputDir(id), "b.txt")
	steps := []struct {
		name         string
		change       func()
		wantA, wantB int // reads so far
	}{
		{"untouched", func() {}, 0, 0},
		{"a touched", func() {
			old := time.Now().Add(-time.Hour)
			must(t, os.Chtimes(a, old, old))
		}, 1, 0},
		{"nothing since", func() {}, 1, 0},
		{"b copied over itself", func() { overwrite(t, b, "bravo"); must(t, os.Chmod(b, 0o444)) }, 1, 1},
		{"nothing again", func() {}, 1, 1},
	}
	for _, st := range steps {
		st.change()
		if _, err := c.Get(action); err != nil {
			t.Fatalf("%s: Get of an intact output: %v", st.name, err)
		}
		if r.of(a) != st.wantA || r.of(b) != st.wantB {
			t.Errorf("%s: wrong reads\ngot:  a %d, b %d\nwant: a %d, b %d", st.name, r.of(a), r.of(b), st.wantA, st.wantB)
		}
	}
}

func TestCommitReplacesDamagedOutput(t *testing.T) {
	c := openTest(t)
	files := map[string]string{"a.txt": "alpha"}
	id, manifest := commit(t, c, files)
	must(t, os.Remove(filepath.Join(c.OutputDir(id), "a.txt")))
	commit(t, c, files)
	if err := c.VerifyOutput(id, manifest); err != nil {
		t.Errorf("damaged output not replaced: %v", err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// overwrite replaces a read-only file's content in place.
func overwrite(t testing.TB, p, content string) {
	t.Helper()
	must(t, os.Chmod(p, 0o644))
	must(t, os.WriteFile(p, []byte(content), 0o644))
}

func TestDiscardOutputDir(t *testing.T) {
	c := openTest(t)
	tmp, err := c.NewOutputDir()
	must(t, err)
	writeFiles(t, tmp, map[string]string{"sub/f": "x"})
	must(t, os.Chmod(filepath.Join(tmp, "sub"), 0o555))
	must(t, c.DiscardOutputDir(tmp))
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("folder still there: %v", err)
	}
	if err := c.DiscardOutputDir(t.TempDir()); err == nil {
		t.Errorf("no error discarding a folder outside the cache")
	}
}

func TestCommitSameOutputConcurrently(t *testing.T) {
	c := openTest(t)
	const n = 4
	ids := make([]ID, n)
	errs := make([]error, n)
	tmps := make([]string, n)
	for i := range tmps {
		var err error
		tmps[i], err = c.NewOutputDir()
		must(t, err)
		writeFiles(t, tmps[i], map[string]string{"a": "same", "b/c": "same too"})
	}
	done := make(chan int)
	for i := range n {
		go func() { ids[i], _, errs[i] = c.CommitOutput(tmps[i]); done <- i }()
	}
	for range n {
		<-done
	}
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Errorf("commit %d: wrong result\ngot:  %s, %v\nwant: %s, nil", i, ids[i], errs[i], ids[0])
		}
	}
}

// TestCheckSealed checks the strict check the engine runs after each stage:
// any change to a committed output is damage, even one that keeps the
// content, while Get accepts what still matches the manifest.
func TestCheckSealed(t *testing.T) {
	files := map[string]string{"a.txt": "alpha", "sub/b.txt": "bravo"}
	tests := []struct {
		name       string
		change     func(t *testing.T, dir string)
		wantInErr  string // "" for no error
		getCorrupt bool
	}{
		{"nothing", func(t *testing.T, dir string) {}, "", false},
		{"file read", func(t *testing.T, dir string) {
			_, err := os.ReadFile(filepath.Join(dir, "a.txt"))
			must(t, err)
		}, "", false},
		{"file appended to", func(t *testing.T, dir string) {
			overwrite(t, filepath.Join(dir, "a.txt"), "alpha\nEVIL")
		}, "a.txt modified", true},
		{"file rewritten with the same bytes", func(t *testing.T, dir string) {
			overwrite(t, filepath.Join(dir, "a.txt"), "alpha")
		}, "a.txt modified", false},
		{"file removed", func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, "sub/b.txt"))) }, "sub/b.txt removed", true},
		{"file added", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, "evil.txt"), nil, 0o644))
		}, "evil.txt added", true},
		{"file added in a subfolder", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, "sub/evil.txt"), nil, 0o644))
		}, "sub/evil.txt added", true},
		{"folder added", func(t *testing.T, dir string) { must(t, os.Mkdir(filepath.Join(dir, "evil"), 0o755)) }, "evil/ added", true},
		{"file added and removed", func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, "tmp"), nil, 0o644))
			must(t, os.Remove(filepath.Join(dir, "tmp")))
		}, "folder modified", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, action, id, manifest := putTest(t, tt.name, files)
			tt.change(t, c.OutputDir(id))
			err := c.CheckSealed(id, manifest)
			switch {
			case tt.wantInErr == "" && err != nil:
				t.Errorf("wrong CheckSealed error\ngot:  %v\nwant: nil", err)
			case tt.wantInErr != "" && (!errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.wantInErr)):
				t.Errorf("wrong CheckSealed error\ngot:  %v\nwant: …%s…: %v", err, tt.wantInErr, ErrCorrupt)
			}
			_, err = c.Get(action)
			if got := errors.Is(err, ErrCorrupt); got != tt.getCorrupt {
				t.Errorf("wrong Get result\ngot:  %v\nwant ErrCorrupt: %v", err, tt.getCorrupt)
			}
			if !tt.getCorrupt {
				// Get refreshed the record: the output is sealed again.
				if err := c.CheckSealed(id, manifest); err != nil {
					t.Errorf("wrong CheckSealed error after Get\ngot:  %v\nwant: nil", err)
				}
			}
		})
	}
}

// TestOutStatsWithoutFolders checks that a record written before folders
// were recorded still works: Get lists the folders once, finds an extra
// file, and records the folders of an intact output.
func TestOutStatsWithoutFolders(t *testing.T) {
	files := map[string]string{"a.txt": "alpha", "sub/b.txt": "bravo"}
	for _, extra := range []bool{false, true} {
		c := openTest(t)
		id, manifest := commit(t, c, files)
		action := NewHash("old", nil).Sum()
		must(t, c.Put(action, &Entry{OutputID: id, Files: manifest, Name: "stage.exec.x"}))
		var keys []statKey
		c.db.Load().View(func(txn *badger.Txn) error { keys = readOutStats(txn, id, len(manifest)); return nil })
		must(t, c.writeOutStats(id, keys, nil)) // the old layout
		if _, ok := c.readOutDirs(id, len(manifest)); ok {
			t.Fatal("folders recorded in an old-layout record")
		}
		if extra {
			must(t, os.WriteFile(filepath.Join(c.OutputDir(id), "sub/evil.txt"), nil, 0o644))
		}
		_, err := c.Get(action)
		if got := errors.Is(err, ErrCorrupt); got != extra {
			t.Errorf("wrong Get result with extra file %v\ngot:  %v\nwant ErrCorrupt: %v", extra, err, extra)
		}
		if !extra {
			dirs, ok := c.readOutDirs(id, len(manifest))
			if !ok || len(dirs) != 2 || dirs[0].Name != "" || dirs[1].Name != "sub" {
				t.Errorf("wrong folders recorded by Get\ngot:  %#v\nwant: \"\" and \"sub\"", dirs)
			}
		}
	}
}
