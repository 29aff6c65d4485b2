package cache

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/dgraph-io/badger/v4"
	"github.com/dgraph-io/badger/v4/table"
)

// checkOnOpen makes Open check the index (checkIndex, checkRecordSum)
// before using it; BenchmarkOpen turns it off for its baseline.
var checkOnOpen = true

// checkIndex reads the Badger folder dir the way badger.Open will, but
// safely: its MANIFEST must replay and every table it lists must exist,
// have an intact footer and index, and blocks whose checksums match.
// Badger opens tables on goroutines of its own, where a damaged one panics
// (slice bounds out of range in table.OpenTable) and no recover can reach;
// checked here first, a damaged table is an error instead, and Open
// rebuilds the index. The check reads every table once (the index holds
// small records, a few MB); BenchmarkOpen measures it. Tables are
// immutable once written, so a table whose stat (size, mtime, ctime,
// inode, device) is the one recorded in the file checked, when an earlier
// Open verified it, is not read again; checkIndex rewrites that file with
// the tables it found intact. A bit flipped later on the disk itself,
// which changes no stat, is caught when Badger reads the block
// (OnBlockRead) instead.
func checkIndex(dir, checked string) (err error) {
	defer recoverIndex(&err)
	mf, err := os.Open(filepath.Join(dir, badger.ManifestFilename))
	if errors.Is(err, fs.ErrNotExist) {
		// A new index, or one whose MANIFEST is gone: Badger starts an
		// empty index only if no table is left to lose track of.
		if ssts, _ := filepath.Glob(filepath.Join(dir, "*.sst")); len(ssts) > 0 {
			return fmt.Errorf("%w: MANIFEST is missing but %d tables are not", errIndexDamaged, len(ssts))
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %v", errIndexDamaged, err)
	}
	defer mf.Close()
	man, _, err := badger.ReplayManifestFile(mf, 0, badgerOptions(dir))
	if err != nil {
		return fmt.Errorf("%w: MANIFEST: %v", errIndexDamaged, err)
	}
	ids := make([]uint64, 0, len(man.Tables))
	for id := range man.Tables {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	known := readChecked(checked)
	intact := map[string]statKey{}
	for _, id := range ids {
		path := table.NewFilename(id, dir)
		fi, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("%w: %v", errIndexDamaged, err)
		}
		name, k := filepath.Base(path), statKeyOf(fi)
		if known[name] != k {
			if err := checkTable(path, id, man.Tables[id]); err != nil {
				return fmt.Errorf("%w: %v", errIndexDamaged, err)
			}
		}
		intact[name] = k
	}
	if !maps.Equal(known, intact) {
		writeChecked(checked, intact) // best effort: without it, the next Open reads the tables again
	}
	return nil
}

// readChecked reads the tables an earlier Open verified: one line per
// table, "name size mtime ctime inode device".
func readChecked(path string) map[string]statKey {
	known := map[string]statKey{}
	b, err := os.ReadFile(path)
	if err != nil {
		return known
	}
	for _, line := range strings.Split(string(b), "\n") {
		var name string
		var k statKey
		if n, _ := fmt.Sscanf(line, "%s %d %d %d %d %d", &name, &k.Size, &k.Mtime, &k.Ctime, &k.Ino, &k.Dev); n == 6 {
			known[name] = k
		}
	}
	return known
}

func writeChecked(path string, intact map[string]statKey) {
	var b strings.Builder
	for _, name := range slices.Sorted(maps.Keys(intact)) {
		k := intact[name]
		fmt.Fprintf(&b, "%s %d %d %d %d %d\n", name, k.Size, k.Mtime, k.Ctime, k.Ino, k.Dev)
	}
	// Not synced: a file lost or torn by a crash only makes the next Open
	// verify the tables again (a torn line matches no table's stat).
	tmp := path + ".tmp"
	if os.WriteFile(tmp, []byte(b.String()), 0o666) == nil {
		os.Rename(tmp, path)
	}
}

// checkTable opens one table from a copy in memory and verifies every
// block's checksum, turning Badger's panics on a damaged file into errors.
func checkTable(path string, id uint64, tm badger.TableManifest) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: unreadable table (%s)", filepath.Base(path), panicText(r))
		}
	}()
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := checkFooter(data); err != nil {
		return fmt.Errorf("%s: %v", filepath.Base(path), err)
	}
	if tm.KeyID != 0 {
		return fmt.Errorf("%s: encrypted table; refeval does not encrypt its index", filepath.Base(path))
	}
	opt := badgerOptions(filepath.Dir(path))
	t, err := table.OpenInMemoryTable(data, id, &table.Options{
		BlockSize:            opt.BlockSize,
		BloomFalsePositive:   opt.BloomFalsePositive,
		Compression:          tm.Compression,
		ZSTDCompressionLevel: opt.ZSTDCompressionLevel,
	})
	if err != nil {
		return fmt.Errorf("%s: %v", filepath.Base(path), err)
	}
	if err := t.VerifyChecksum(); err != nil {
		return fmt.Errorf("%s: %v", filepath.Base(path), err)
	}
	return nil
}

// checkFooter checks the lengths a table's footer gives (Badger's layout:
// … index, index length, checksum, checksum length), so that the usual
// truncation is reported plainly rather than as Badger's panic.
func checkFooter(data []byte) error {
	n := len(data)
	if n < 8 {
		return fmt.Errorf("truncated to %d bytes", n)
	}
	chk := int(binary.BigEndian.Uint32(data[n-4:]))
	if chk > n-8 {
		return fmt.Errorf("truncated or overwritten: its footer names a %d-byte checksum in a %d-byte file", chk, n)
	}
	idx := int(binary.BigEndian.Uint32(data[n-8-chk:]))
	if idx > n-8-chk {
		return fmt.Errorf("truncated or overwritten: its footer names a %d-byte index in a %d-byte file", idx, n)
	}
	return nil
}
