package cache

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "cache")
	c, err := Open(dir, Options{NoWait: true})
	must(t, err)
	for _, sub := range []string{outDir, tmpDir, logDir, indexDir, entryDir} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err != nil || !fi.IsDir() {
			t.Errorf("missing folder %s: %v", sub, err)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "README")); err != nil || string(b) != readme {
		t.Errorf("wrong README: %v", err)
	}
	if got, want := lockOwner(dir), os.Getpid(); got != want {
		t.Errorf("wrong pid in lock file\ngot:  %d\nwant: %d", got, want)
	}
	if got := c.Dir(); got != dir {
		t.Errorf("wrong Dir\ngot:  %q\nwant: %q", got, dir)
	}
	if got, want := c.LogPath(ID{1}), filepath.Join(dir, "log", ID{1}.String()+".log"); got != want {
		t.Errorf("wrong LogPath\ngot:  %q\nwant: %q", got, want)
	}
	must(t, c.Close())
	must(t, c.Close()) // a second Close is harmless
	if got := lockOwner(dir); got != 0 {
		t.Errorf("wrong pid in lock file after Close\ngot:  %d\nwant: 0", got)
	}
	// A damaged index is rebuilt, and that reported once.
	must(t, os.WriteFile(filepath.Join(dir, indexDir, "MANIFEST"), []byte("garbage"), 0o644))
	var warns []string
	c, err = Open(dir, Options{NoWait: true, Warn: func(msg string) { warns = append(warns, msg) }})
	must(t, err)
	must(t, c.Close())
	if len(warns) != 1 || !strings.Contains(warns[0], "rebuilt it from the entry records") {
		t.Errorf("wrong warnings for a damaged index\ngot:  %q\nwant: one that says it was rebuilt", warns)
	}
	// One that cannot be rebuilt says what to remove by hand.
	must(t, os.WriteFile(filepath.Join(dir, indexDir, "MANIFEST"), []byte("garbage"), 0o644))
	must(t, os.Mkdir(filepath.Join(dir, rebuildingMark), 0o755)) // the rebuild cannot write its mark
	_, err = Open(dir, Options{NoWait: true, Warn: func(string) {}})
	if err == nil || !strings.Contains(err.Error(), "remove "+filepath.Join(dir, indexDir)+" and ") || !strings.Contains(err.Error(), "by hand") {
		t.Errorf("wrong error for an index that cannot be rebuilt\ngot:  %v\nwant: …remove %s and … by hand…", err, filepath.Join(dir, indexDir))
	}
}

func TestPutRejects(t *testing.T) {
	c := openTest(t)
	_, files := commit(t, c, map[string]string{"a": "1"})
	tests := []struct {
		name    string
		e       *Entry
		wantErr string
	}{
		{"nil entry", nil, "nil entry"},
		{"no OutputID", &Entry{Files: files}, "no OutputID"},
		{"output not committed", &Entry{OutputID: ID{9}}, "commit it with CommitOutput first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := c.Put(NewHash(tt.name, nil).Sum(), tt.e)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("wrong error\ngot:  %v\nwant: …%s…", err, tt.wantErr)
			}
		})
	}
}
