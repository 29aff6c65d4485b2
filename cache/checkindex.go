package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

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
// small records, a few MB); BenchmarkOpen measures it.
func checkIndex(dir string) (err error) {
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
	for _, id := range ids {
		if err := checkTable(table.NewFilename(id, dir), id, man.Tables[id]); err != nil {
			return fmt.Errorf("%w: %v", errIndexDamaged, err)
		}
	}
	return nil
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
