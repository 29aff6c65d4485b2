package cache

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkOpen opens and closes a cache of 2,000 entries, alone and with
// 16 MB of memos (2,000 × 8 KB, in tables), three ways in the same run:
// without the damage checks of Open (unchecked), with them as they run
// after an earlier Open verified the tables (checked), and with
// index.checked removed before each Open, so that every table is read and
// verified (cold):
//
//	go test -run '^$' -bench Open -benchtime 20x ./cache/
func BenchmarkOpen(b *testing.B) {
	for _, memoMB := range []int{0, 16} {
		dir := filepath.Join(b.TempDir(), "cache")
		c, err := Open(dir, Options{NoWait: true})
		must(b, err)
		tmp, err := c.NewOutputDir()
		must(b, err)
		writeFiles(b, tmp, map[string]string{"a": "1"})
		id, files, err := c.CommitOutput(tmp)
		must(b, err)
		for i := range 2000 {
			name := fmt.Sprintf("s%d", i)
			must(b, c.Put(NewHash(name, nil).Sum(), &Entry{OutputID: id, Files: files, Scope: "p.hcl", Name: "stage.x." + name}))
		}
		wb := c.db.Load().NewWriteBatch()
		val := make([]byte, 8<<10)
		for i := range memoMB << 7 {
			val[0], val[1] = byte(i), byte(i>>8)
			must(b, wb.Set(memoKey("bench", fmt.Sprint(i)), val))
		}
		must(b, wb.Flush())
		must(b, c.Close())
		for _, mode := range []string{"unchecked", "checked", "cold"} {
			b.Run(fmt.Sprintf("memos=%dMB/%s", memoMB, mode), func(b *testing.B) {
				checkOnOpen = mode != "unchecked"
				defer func() { checkOnOpen = true }()
				for b.Loop() {
					if mode == "cold" {
						os.Remove(filepath.Join(dir, checkedTables))
					}
					c, err := Open(dir, Options{NoWait: true})
					must(b, err)
					must(b, c.Close())
				}
			})
		}
	}
}
