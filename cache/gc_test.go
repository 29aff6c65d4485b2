package cache

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestGC(t *testing.T) {
	tests := []struct {
		name     string
		opt      GCOptions
		wantKept []string // entries the options keep (with DryRun, everything stays on disk)
	}{
		{"keep last 2 builds", GCOptions{KeepBuilds: 2}, []string{"b3", "b4", "shared"}},
		{"keep last build", GCOptions{KeepBuilds: 1}, []string{"b4", "shared"}},
		{"keep by age", GCOptions{OlderThan: 50 * time.Hour}, []string{"b3", "b4"}},
		{"keep by either", GCOptions{KeepBuilds: 1, OlderThan: 72 * time.Hour}, []string{"b2", "b3", "b4", "shared"}},
		{"dry run", GCOptions{KeepBuilds: 1, DryRun: true}, []string{"b4", "shared"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := openTest(t)
			now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
			c.now = func() time.Time { return now }

			// Builds b1…b4 of p.hcl, a day apart; "shared" is in b1 and b4
			// and used 5 days ago; "other" is in no build.
			actions := map[string]ID{}
			outputs := map[string]ID{}
			put := func(name string, lastUsed time.Time) {
				id, files := commit(t, c, map[string]string{"out.txt": name})
				a := NewHash(name, nil).Sum()
				must(t, c.Put(a, &Entry{OutputID: id, Files: files, Scope: "p.hcl", Name: "stage.x." + name, LastUsed: lastUsed}))
				must(t, os.WriteFile(c.LogPath(a), []byte("log of "+name), 0o644))
				actions[name], outputs[name] = a, id
			}
			put("shared", now.Add(-5*24*time.Hour))
			put("other", now.Add(-10*24*time.Hour))
			for i, name := range []string{"b1", "b2", "b3", "b4"} {
				put(name, now.Add(time.Duration(i-4)*24*time.Hour+time.Hour))
			}
			for i, name := range []string{"b1", "b2", "b3", "b4"} {
				now = time.Date(2026, 1, 6+i, 0, 0, 0, 0, time.UTC)
				build := []ID{actions[name]}
				if name == "b1" || name == "b4" {
					build = append(build, actions["shared"])
				}
				must(t, c.RecordBuild("p.hcl", build))
			}
			now = time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
			stale := filepath.Join(c.Dir(), tmpDir, "out-crashed")
			must(t, os.MkdirAll(filepath.Join(stale, "sub"), 0o755))
			must(t, os.WriteFile(filepath.Join(stale, "sub", "f"), []byte("partial"), 0o444))
			must(t, os.Chmod(filepath.Join(stale, "sub"), 0o555))              // GC must cope with read-only folders
			t.Cleanup(func() { os.Chmod(filepath.Join(stale, "sub"), 0o755) }) // dry run leaves it for TempDir's cleanup
			// A job folder left by a refeval killed while its Slurm job ran.
			orphan := filepath.Join(c.JobsDir(), "0123456789ab-1")
			must(t, os.MkdirAll(orphan, 0o755))
			must(t, os.WriteFile(filepath.Join(orphan, "spec.json"), []byte("{}"), 0o644))
			// GC in a later session, while this one has a stage running
			// and another between CommitOutput and Put.
			must(t, c.Close())
			c, err := Open(c.Dir(), Options{NoWait: true})
			must(t, err)
			defer c.Close()
			c.now = func() time.Time { return now }
			live, err := c.NewOutputDir()
			must(t, err)
			fresh, _ := commit(t, c, map[string]string{"out.txt": "not in the index yet"})

			rep, err := c.GC(tt.opt)
			must(t, err)
			if _, err := os.Stat(c.OutputDir(fresh)); err != nil {
				t.Errorf("GC removed an output committed in this session: %v", err)
			}

			kept := map[string]bool{}
			for _, n := range tt.wantKept {
				kept[n] = true
			}
			for name, a := range actions {
				_, err := c.Get(a)
				_, logErr := os.Stat(c.LogPath(a))
				_, outErr := os.Stat(c.OutputDir(outputs[name]))
				if kept[name] || tt.opt.DryRun {
					if err != nil || logErr != nil || outErr != nil {
						t.Errorf("%s: removed but should be kept: entry %v, log %v, output %v", name, err, logErr, outErr)
					}
				} else if err != ErrNotFound || !errors.Is(logErr, os.ErrNotExist) || !errors.Is(outErr, os.ErrNotExist) {
					t.Errorf("%s: kept but should be removed: entry %v, log %v, output %v", name, err, logErr, outErr)
				}
			}
			if rep.Kept != len(tt.wantKept) || rep.Entries != 6-len(tt.wantKept) {
				t.Errorf("wrong report counts\ngot:  %+v\nwant: %d kept, %d removed", rep, len(tt.wantKept), 6-len(tt.wantKept))
			}
			if _, err := os.Stat(live); err != nil {
				t.Errorf("GC removed a temp folder in use: %v", err)
			}
			_, err = os.Stat(stale)
			_, jobErr := os.Stat(orphan)
			if tt.opt.DryRun != (err == nil) || tt.opt.DryRun != (jobErr == nil) || rep.Temps != 2 {
				t.Errorf("wrong handling of a stale temp folder and job folder: stat %v and %v, report %+v", err, jobErr, rep)
			}
			if _, _, err := c.LastFor("p.hcl", "stage.x.b1"); !tt.opt.DryRun && err != ErrNotFound {
				t.Errorf("wrong LastFor of a removed entry\ngot:  %v\nwant: %v", err, ErrNotFound)
			}
		})
	}
}

func TestTrimIfDue(t *testing.T) {
	c := openTest(t)
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	for i, tt := range []struct {
		advance time.Duration
		want    bool
	}{{0, true}, {time.Hour, false}, {23 * time.Hour, true}, {time.Minute, false}} {
		now = now.Add(tt.advance)
		ran, _, err := c.TrimIfDue(GCOptions{KeepBuilds: DefaultKeepBuilds, OlderThan: DefaultOlderThan})
		must(t, err)
		if ran != tt.want {
			t.Errorf("call %d: wrong ran\ngot:  %v\nwant: %v", i, ran, tt.want)
		}
	}
}

func TestList(t *testing.T) {
	c := openTest(t)
	now := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	type row struct {
		addr string
		size int64
	}
	put := func(name, addr, content string, lastUsed time.Time) {
		id, files := commit(t, c, map[string]string{"out": content})
		a := NewHash(name, nil).Sum()
		must(t, c.Put(a, &Entry{OutputID: id, Files: files, Scope: "p.hcl", Name: addr, LastUsed: lastUsed}))
		if name == "b-old" {
			must(t, os.WriteFile(c.LogPath(a), []byte("12345"), 0o644))
		}
	}
	put("b-new", "stage.x.b", "abc", now)
	put("a", "stage.x.a", "a", now)
	put("b-old", "stage.x.b", "abcdef", now.Add(-time.Hour))
	items, err := c.List()
	must(t, err)
	var got []row
	for _, it := range items {
		got = append(got, row{it.Entry.Name, it.Size})
	}
	want := []row{{"stage.x.a", 1}, {"stage.x.b", 3}, {"stage.x.b", 6 + 5}}
	if len(got) != len(want) {
		t.Fatalf("wrong list\ngot:  %#v\nwant: %#v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("wrong item %d\ngot:  %#v\nwant: %#v", i, got[i], want[i])
		}
	}
}

// TestRecordBuildSkipsRepeats checks that a build using the same actions as
// the pipeline's last one (a no-op build) records nothing, so that it does
// not push an older, different build out of the last KeepBuilds.
func TestRecordBuildSkipsRepeats(t *testing.T) {
	c := openTest(t)
	put := func(name string) ID {
		id, files := commit(t, c, map[string]string{"out.txt": name})
		a := NewHash(name, nil).Sum()
		must(t, c.Put(a, &Entry{OutputID: id, Files: files, Scope: "p.hcl", Name: "stage.x." + name, LastUsed: time.Unix(0, 0)}))
		return a
	}
	a, b, shared := put("a"), put("b"), put("shared")
	must(t, c.RecordBuild("p.hcl", []ID{a, shared}))
	for range 3 {
		must(t, c.RecordBuild("p.hcl", []ID{shared, b, b})) // order and repeats do not matter
	}
	rep, err := c.GC(GCOptions{KeepBuilds: 2})
	must(t, err)
	if rep.Entries != 0 || rep.Kept != 3 || rep.Builds != 0 {
		t.Errorf("wrong GC report after repeated builds\ngot:  %+v\nwant: 0 entries removed, 3 kept, 0 build records removed", rep)
	}
	must(t, c.RecordBuild("p.hcl", []ID{b}))
	must(t, c.RecordBuild("p.hcl", []ID{shared}))
	rep, err = c.GC(GCOptions{KeepBuilds: 2})
	must(t, err)
	if rep.Entries != 1 || rep.Builds != 2 {
		t.Errorf("wrong GC report after two new builds\ngot:  %+v\nwant: 1 entry (a) and 2 build records removed", rep)
	}
}
