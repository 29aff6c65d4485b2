package remote

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// Memo files hold records of (uvarint key length, key, uvarint value
// length, value). A job appends one record per Put and syncs it, so that a
// job killed mid-stage loses at most the record being written; a reader
// ignores a cut-off last record.

// An Iterable memo store lists its entries (cache.Memo is one).
type Iterable interface {
	Each(fn func(key string, val []byte) error) error
}

// WriteMemos writes every entry of m into a new memo file at path.
func WriteMemos(path string, m Iterable) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	err = m.Each(func(k string, v []byte) error { return writeRecord(w, k, v) })
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ReadMemos calls fn with each complete record of the memo file at path,
// in order. A missing file has no records.
func ReadMemos(path string, fn func(key string, val []byte) error) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	for {
		k, err := readField(r)
		if err != nil {
			return nil // end of file, or a record cut off by a killed job
		}
		v, err := readField(r)
		if err != nil {
			return nil
		}
		if err := fn(string(k), v); err != nil {
			return err
		}
	}
}

func writeRecord(w io.Writer, k string, v []byte) error {
	var buf []byte
	buf = binary.AppendUvarint(buf, uint64(len(k)))
	buf = append(buf, k...)
	buf = binary.AppendUvarint(buf, uint64(len(v)))
	buf = append(buf, v...)
	_, err := w.Write(buf)
	return err
}

// maxField bounds a record field, so that a damaged length cannot ask for
// gigabytes.
const maxField = 1 << 30

func readField(r *bufio.Reader) ([]byte, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, err
	}
	if n > maxField {
		return nil, fmt.Errorf("memo record of %d bytes", n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}

// A FileMemo is a job's memo store (it satisfies engine.Memo): it reads the
// memos the build sent and those earlier attempts of the job added, and
// appends new ones to a file the build imports into its cache afterwards.
type FileMemo struct {
	mu   sync.Mutex
	m    map[string][]byte
	out  *os.File
	path string
}

// OpenFileMemo reads the memo files in and out and opens out for appending.
func OpenFileMemo(in, out string) (*FileMemo, error) {
	fm := &FileMemo{m: map[string][]byte{}, path: out}
	for _, p := range []string{in, out} {
		if err := ReadMemos(p, func(k string, v []byte) error { fm.m[k] = v; return nil }); err != nil {
			return nil, fmt.Errorf("reading memos %s: %w", p, err)
		}
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fm.out = f
	return fm, nil
}

// Get returns the value stored under key.
func (fm *FileMemo) Get(key string) ([]byte, bool, error) {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	v, ok := fm.m[key]
	return v, ok, nil
}

// Put appends key and val to the memo file and syncs it.
func (fm *FileMemo) Put(key string, val []byte) error {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	if err := writeRecord(fm.out, key, val); err != nil {
		return fmt.Errorf("writing memo %s: %w", fm.path, err)
	}
	if err := fm.out.Sync(); err != nil {
		return fmt.Errorf("writing memo %s: %w", fm.path, err)
	}
	fm.m[key] = append([]byte(nil), val...)
	return nil
}

// Close closes the memo file.
func (fm *FileMemo) Close() error { return fm.out.Close() }
