package cache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// populated is a cache folder holding a few entries, closed.
type populated struct {
	dir     string
	outputs map[ID]ID     // action → OutputID
	entries map[ID]*Entry // action → what was put
	live    string        // a copy of index/ taken while it was open, as a crash leaves it
}

func populate(t *testing.T) populated {
	t.Helper()
	p := populated{dir: filepath.Join(t.TempDir(), "cache"), outputs: map[ID]ID{}, entries: map[ID]*Entry{}, live: filepath.Join(t.TempDir(), "live")}
	c, err := Open(p.dir, Options{NoWait: true})
	must(t, err)
	for i := range 3 {
		name := fmt.Sprintf("s%d", i)
		id, files := commit(t, c, map[string]string{"out.txt": strings.Repeat(name, 100)})
		a := NewHash(name, nil).Sum()
		e := &Entry{OutputID: id, Files: files, Scope: "p.hcl", Name: "stage.x." + name}
		must(t, c.Put(a, e))
		p.outputs[a], p.entries[a] = id, e
	}
	must(t, c.Memo("m").Put("k", []byte(strings.Repeat("v", 100<<10)))) // one value in the value log
	must(t, c.RecordBuild("p.hcl", keys(p.outputs)))
	copyDir(t, filepath.Join(p.dir, indexDir), p.live)
	must(t, c.Close())
	// Open once more, so that the tables are in index.checked: damage
	// must be found in tables an earlier Open verified too.
	c, err = Open(p.dir, Options{NoWait: true})
	must(t, err)
	must(t, c.Close())
	b, err := os.ReadFile(filepath.Join(p.dir, checkedTables))
	must(t, err)
	if ssts := indexFiles(t, filepath.Join(p.dir, indexDir), ".sst"); strings.Count(string(b), ".sst ") != len(ssts) {
		t.Fatalf("wrong %s after Open\ngot:  %q\nwant: a line for each of %q", checkedTables, b, ssts)
	}
	return p
}

func keys(m map[ID]ID) []ID {
	var ids []ID
	for a := range m {
		ids = append(ids, a)
	}
	sortIDs(ids)
	return ids
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	must(t, os.MkdirAll(to, 0o755))
	des, err := os.ReadDir(from)
	must(t, err)
	for _, d := range des {
		b, err := os.ReadFile(filepath.Join(from, d.Name()))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(to, d.Name()), b, 0o644))
	}
}

// A damage changes the files of an index folder.
type damage struct {
	name string
	do   func(t *testing.T, idx string)
}

func indexFiles(t *testing.T, idx, suffix string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(idx, "*"+suffix))
	must(t, err)
	sort.Strings(m)
	return m
}

func truncateFiles(suffix string, frac float64) damage {
	return damage{fmt.Sprintf("truncate %s to %.0f%%", suffix, frac*100), func(t *testing.T, idx string) {
		for _, f := range indexFiles(t, idx, suffix) {
			fi, err := os.Stat(f)
			must(t, err)
			must(t, os.Truncate(f, int64(float64(fi.Size())*frac)))
		}
	}}
}

// flipFiles inverts the byte at offset (from the end if negative) of
// every file with suffix, or every step-th byte if step > 0.
func flipFiles(suffix string, offset int, step int) damage {
	name := fmt.Sprintf("flip %s byte %d", suffix, offset)
	if step > 0 {
		name = fmt.Sprintf("flip every %dth byte of %s from %d", step, suffix, offset)
	}
	return damage{name, func(t *testing.T, idx string) {
		for _, f := range indexFiles(t, idx, suffix) {
			b, err := os.ReadFile(f)
			must(t, err)
			o := offset
			if o < 0 {
				o += len(b)
			}
			for ; o >= 0 && o < len(b); o += step {
				b[o] ^= 0xff
				if step <= 0 {
					break
				}
			}
			must(t, os.WriteFile(f, b, 0o644))
		}
	}}
}

func damages() []damage {
	ds := []damage{
		truncateFiles(".sst", 0), truncateFiles(".sst", 0.1), truncateFiles(".sst", 0.5), truncateFiles(".sst", 0.9),
		truncateFiles(".sst", 0.99), truncateFiles("MANIFEST", 0.5), truncateFiles("KEYREGISTRY", 0.5),
		truncateFiles(".vlog", 0.5), truncateFiles(".mem", 0.5), truncateFiles("DISCARD", 0.5),
		flipFiles("MANIFEST", 10, 0), flipFiles("KEYREGISTRY", 10, 0), flipFiles(".vlog", 30, 0), flipFiles(".vlog", -5, 0),
		flipFiles(".mem", 100, 0), flipFiles("DISCARD", 0, 0),
		{"remove MANIFEST", func(t *testing.T, idx string) { must(t, os.Remove(filepath.Join(idx, "MANIFEST"))) }},
		{"replace every file with garbage", func(t *testing.T, idx string) {
			for _, f := range indexFiles(t, idx, "") {
				must(t, os.WriteFile(f, []byte(strings.Repeat("\xde\xad", 100)), 0o644))
			}
		}},
	}
	// Every part of a table: blocks, index, checksum, footer.
	for _, o := range []int{0, 50, 400, 900, -1, -4, -5, -8, -40, -100} {
		ds = append(ds, flipFiles(".sst", o, 0))
	}
	ds = append(ds, flipFiles(".sst", 3, 97))
	return ds
}

// TestDamagedIndex damages a closed index, and one copied while open (as
// a crash leaves it), in the ways a disk or a person can; then every
// operation must work without a panic, give no wrong hit, and a rebuilt
// index must hold every entry again. Before the index healed, a truncated
// table panicked every command (slice bounds out of range in
// table.OpenTable, on a Badger goroutine: the test binary died) and a
// flipped byte in a block made Get fail for good.
func TestDamagedIndex(t *testing.T) {
	for _, live := range []bool{false, true} {
		for _, d := range damages() {
			name := d.name
			if live {
				if strings.Contains(name, ".sst") {
					continue // a crash leaves tables as a clean close does
				}
				name += " (after a crash)"
			}
			t.Run(name, func(t *testing.T) {
				p := populate(t)
				idx := filepath.Join(p.dir, indexDir)
				if live {
					must(t, os.RemoveAll(idx))
					copyDir(t, p.live, idx)
				}
				d.do(t, idx)
				var warns []string
				c, err := Open(p.dir, Options{NoWait: true, Warn: func(msg string) { warns = append(warns, msg) }})
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				hits := 0
				for a, want := range p.outputs {
					e, err := c.Get(a)
					switch {
					case err == nil && e.OutputID != want:
						t.Errorf("wrong hit for %s\ngot:  %s\nwant: %s", a, e.OutputID, want)
					case err == nil:
						hits++
					case !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrCorrupt):
						t.Errorf("Get %s: %v; want a hit or a miss", a, err)
					}
					if err != nil { // the engine runs the stage again and puts its entry
						must(t, c.Put(a, p.entries[a]))
					}
				}
				if _, err := c.List(); err != nil {
					t.Errorf("List: %v", err)
				}
				if _, err := c.Verify(); err != nil {
					t.Errorf("Verify: %v", err)
				}
				if _, err := c.GC(GCOptions{KeepBuilds: 3, OlderThan: time.Hour}); err != nil {
					t.Errorf("GC: %v", err)
				}
				if _, _, err := c.Memo("m").Get("k"); err != nil {
					t.Errorf("Memo.Get: %v", err)
				}
				must(t, c.Close())
				if len(warns) > 1 {
					t.Errorf("damage reported %d times, want at most once:\n%s", len(warns), strings.Join(warns, "\n"))
				}
				if hits < len(p.outputs) && len(warns) == 0 {
					t.Errorf("%d of %d entries lost and nothing reported", len(p.outputs)-hits, len(p.outputs))
				}
				// Reopened, the index is whole: every entry hits.
				c, err = Open(p.dir, Options{NoWait: true, Warn: func(msg string) { t.Errorf("reported again: %s", msg) }})
				must(t, err)
				defer c.Close()
				for a, want := range p.outputs {
					if e, err := c.Get(a); err != nil || e.OutputID != want {
						t.Errorf("after the rebuild, Get %s = %v, %v; want a hit on %s", a, e, err, want)
					}
				}
			})
		}
	}
}

// TestUnreadableEntry stores entries the decoder rejects: Get reads the
// one with an intact record from it and misses the other, List skips
// them, Verify reports them, Repair puts the first back from its record
// and drops the other; GC drops them; a Put replaces one.
func TestUnreadableEntry(t *testing.T) {
	c := openTest(t)
	id, files := commit(t, c, map[string]string{"a": "1"})
	a, b := NewHash("a", nil).Sum(), NewHash("b", nil).Sum()
	for _, x := range []ID{a, b} {
		must(t, c.Put(x, &Entry{OutputID: id, Files: files, Name: "stage.x." + x.String()[:4]}))
	}
	spoil := func(x ID) {
		must(t, c.update(func(txn *badger.Txn) error { return txn.Set(actionKey(x), []byte(`{"OutputID":"zz`)) }))
	}
	spoil(a)
	spoil(b)
	must(t, os.Remove(c.recordPath(b)))
	if e, err := c.Get(a); err != nil || e.OutputID != id {
		t.Errorf("Get of an unreadable entry with a record: %v, %v; want a hit from the record", e, err)
	}
	if _, err := c.Get(b); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Get of an unreadable entry without a record: %v; want ErrCorrupt (a miss)", err)
	}
	items, bad, err := c.ListAll()
	must(t, err)
	if len(items) != 0 || len(bad) != 2 {
		t.Errorf("wrong ListAll\ngot:  %d items, %d unreadable\nwant: 0 items, 2 unreadable", len(items), len(bad))
	}
	rep, err := c.Verify()
	must(t, err)
	if len(rep.Unreadable) != 2 {
		t.Errorf("wrong Verify.Unreadable\ngot:  %v\nwant: 2 actions", rep.Unreadable)
	}
	must(t, c.Repair(rep))
	if e, err := c.Get(a); err != nil || e.OutputID != id {
		t.Errorf("after Repair, Get of the entry with a record = %v, %v; want a hit", e, err)
	}
	if _, err := c.Get(b); !errors.Is(err, ErrNotFound) {
		t.Errorf("after Repair, Get of the entry without a record: %v; want ErrNotFound", err)
	}
	// GC drops unreadable entries; Put replaces one.
	spoil(a)
	g, err := c.GC(GCOptions{KeepBuilds: 3, OlderThan: time.Hour})
	must(t, err)
	if g.Unreadable != 1 {
		t.Errorf("wrong GC.Unreadable\ngot:  %d\nwant: 1", g.Unreadable)
	}
	spoil(a)
	must(t, c.Put(a, &Entry{OutputID: id, Files: files}))
	if _, err := c.Get(a); err != nil {
		t.Errorf("after Put, Get = %v; want a hit", err)
	}
	// A malformed LastFor record is as if there were none.
	must(t, c.update(func(txn *badger.Txn) error { return txn.Set(lastKey("", "stage.x.y"), []byte("short")) }))
	if _, _, err := c.LastFor("", "stage.x.y"); !errors.Is(err, ErrNotFound) {
		t.Errorf("LastFor of a malformed record: %v; want ErrNotFound", err)
	}
}

// TestRebuildInterrupted: an Open that finds the mark of a rebuild that
// was killed rebuilds again, and the entries are back.
func TestRebuildInterrupted(t *testing.T) {
	p := populate(t)
	must(t, os.WriteFile(filepath.Join(p.dir, rebuildingMark), nil, 0o644))
	must(t, os.RemoveAll(filepath.Join(p.dir, indexDir)))
	must(t, os.Mkdir(filepath.Join(p.dir, indexDir), 0o755)) // an empty, half-built index
	var warns []string
	c, err := Open(p.dir, Options{NoWait: true, Warn: func(msg string) { warns = append(warns, msg) }})
	must(t, err)
	defer c.Close()
	if len(warns) != 1 || !strings.Contains(warns[0], "interrupted") || !strings.Contains(warns[0], "3 entries restored") {
		t.Errorf("wrong report\ngot:  %q\nwant: one saying the interrupted rebuild restored 3 entries", warns)
	}
	if _, err := os.Stat(filepath.Join(p.dir, rebuildingMark)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("rebuild mark left behind: %v", err)
	}
	for a := range p.outputs {
		if _, err := c.Get(a); err != nil {
			t.Errorf("Get %s after the rebuild: %v", a, err)
		}
	}
}

// TestDamageMetWhileOpen: damage met by a read is reported once, and Close
// rebuilds the index.
func TestDamageMetWhileOpen(t *testing.T) {
	p := populate(t)
	var warns []string
	c, err := Open(p.dir, Options{NoWait: true, Warn: func(msg string) { warns = append(warns, msg) }})
	must(t, err)
	for range 3 {
		c.noteDamage("reading entry x", fmt.Errorf("%w: block checksum mismatch", errIndexDamaged))
	}
	must(t, c.Close())
	if len(warns) != 1 || !strings.Contains(warns[0], "rebuilt from the entry records when refeval exits") {
		t.Errorf("wrong reports\ngot:  %q\nwant: one", warns)
	}
	if _, err := os.Stat(filepath.Join(p.dir, damagedIndexDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the damaged index was not rebuilt and removed: %v", err)
	}
	c, err = Open(p.dir, Options{NoWait: true})
	must(t, err)
	defer c.Close()
	for a := range p.outputs {
		if _, err := c.Get(a); err != nil {
			t.Errorf("Get %s after the rebuild: %v", a, err)
		}
	}
}

// TestDamageUnderOpenIndex flips bytes in the tables of an open index, as
// a disk or another program might: Badger has them mapped, so reads of
// blocks not yet cached see the damage as checksum errors. Get must not
// crash or give a wrong hit, and List, GC and Verify rebuild the index and
// list every entry. (Truncating a mapped table under an open index can
// still end the process: Badger asserts with log.Fatal, which no recover
// reaches; docs/cache.md, known limits.)
func TestDamageUnderOpenIndex(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	c, err := Open(dir, Options{NoWait: true})
	must(t, err)
	id, files := commit(t, c, map[string]string{"a": "1"})
	outputs := map[ID]bool{}
	for i := range 300 {
		a := NewHash(fmt.Sprint(i), nil).Sum()
		must(t, c.Put(a, &Entry{OutputID: id, Files: files, Name: fmt.Sprintf("stage.x.s%d", i), Meta: []byte(`{"pad":"` + strings.Repeat("x", 200) + `"}`)}))
		outputs[a] = true
	}
	must(t, c.Close())
	var warns []string
	c, err = Open(dir, Options{NoWait: true, Warn: func(msg string) { warns = append(warns, msg) }})
	must(t, err)
	flipFiles(".sst", 100, 997).do(t, filepath.Join(dir, indexDir))
	misses := 0
	for a := range outputs {
		if e, err := c.Get(a); err == nil && e.OutputID != id {
			t.Errorf("wrong hit for %s", a)
		} else if err != nil {
			if misses == 0 {
				t.Logf("first miss: %v", err)
			}
			misses++
		}
	}
	items, err := c.List()
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if len(items) != len(outputs) {
		t.Errorf("List after damage: %d entries, want %d (restored from the records)", len(items), len(outputs))
	}
	if _, err := c.GC(GCOptions{KeepBuilds: 3, OlderThan: time.Hour}); err != nil {
		t.Errorf("GC: %v", err)
	}
	if _, err := c.Verify(); err != nil {
		t.Errorf("Verify: %v", err)
	}
	must(t, c.Close())
	if len(warns) == 0 || len(warns) > 2 {
		t.Errorf("damage reported %d times, want once or twice (met, then rebuilt):\n%s", len(warns), strings.Join(warns, "\n"))
	}
	if misses > 0 {
		t.Errorf("%d of %d Gets failed; every entry has an intact record", misses, len(outputs))
	}
	t.Logf("%d of %d Gets failed; reports:\n%s", misses, len(outputs), strings.Join(warns, "\n"))
}

// TestRecordWithoutEntry: a record whose entry is missing from an intact
// index (a crash between the two writes of Put) is put back by Open,
// which keeps the memos and the stat cache that a rebuild would lose.
func TestRecordWithoutEntry(t *testing.T) {
	p := populate(t)
	c, err := Open(p.dir, Options{NoWait: true})
	must(t, err)
	id, files := commit(t, c, map[string]string{"late": "1"})
	a := NewHash("late", nil).Sum()
	must(t, c.writeRecord(a, &Entry{OutputID: id, Files: files, Name: "stage.x.late"}))
	must(t, c.Close())

	var warns []string
	c, err = Open(p.dir, Options{NoWait: true, Warn: func(msg string) { warns = append(warns, msg) }})
	must(t, err)
	defer c.Close()
	if len(warns) != 1 || !strings.Contains(warns[0], "restored 1 from their records") {
		t.Errorf("wrong report\ngot:  %q\nwant: one saying 1 entry was restored", warns)
	}
	if e, err := c.Get(a); err != nil || e.OutputID != id {
		t.Errorf("Get of the restored entry = %v, %v; want a hit", e, err)
	}
	if _, ok, err := c.Memo("m").Get("k"); err != nil || !ok {
		t.Errorf("memo lost by restoring an entry: %v, %v", ok, err)
	}
	if _, err := os.Stat(filepath.Join(p.dir, damagedIndexDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the index was rebuilt, not restored in place")
	}
}
