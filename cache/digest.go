package cache

import (
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/zeebo/blake3"
)

// Content digests.
//
// A file's content digest is a two-level BLAKE3 tree, so that one big file
// is hashed by several cores at once:
//
//	leaf[i] = BLAKE3-256(bytes [i·segmentSize, (i+1)·segmentSize) of the file)
//	digest  = BLAKE3-256(contentSalt || size as 8 little-endian bytes || leaf[0] || leaf[1] || …)
//
// An empty file has no leaves. The digest is therefore not what b3sum
// prints; `refeval cache verify` is the tool that checks it. BLAKE3 rather
// than SHA-256 because one core hashes it 1.4–2× faster than crypto/sha256
// even where the CPU has SHA extensions (far more where it has not), and
// its SIMD code in github.com/zeebo/blake3 is Go assembly, no cgo; the tree
// adds the other cores. docs/cache.md has the measurements.

// segmentSize is the leaf size of the content tree. 1 MiB keeps a worker's
// buffer in L2 cache while making per-leaf overhead (one 32-byte leaf, one
// pread) negligible; a 2 GB file has 2,048 leaves.
const segmentSize = 1 << 20

// contentSalt starts the root of every content digest. Changing it changes
// every input digest, and so every ActionID.
const contentSalt = "refeval content v1\n"

// maxHashWorkers caps the goroutines that hash one file. Past 8, a single
// file's hashing is bound by memory or disk bandwidth on the machines we
// target.
const maxHashWorkers = 8

// readHook, when set by tests, is called once each time a file's content is
// read for hashing. It proves that stat-cache hits do not reread files.
var readHook func(path string)

// bufPool holds segment buffers.
var bufPool = sync.Pool{New: func() any { b := make([]byte, segmentSize); return &b }}

// digestReaderAt returns the content digest of the first size bytes of r,
// hashing segments on up to maxHashWorkers goroutines. name is used in errors.
func digestReaderAt(r io.ReaderAt, size int64, name string) (ID, error) {
	if size < 0 {
		return ID{}, fmt.Errorf("hashing %s: negative size %d", name, size)
	}
	n := int((size + segmentSize - 1) / segmentSize)
	if n == 0 {
		return rootDigest(0, nil), nil
	}
	leaves := make([]byte, 32*n)
	workers := min(runtime.GOMAXPROCS(0), maxHashWorkers, n)
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	work := func() {
		defer wg.Done()
		bp := bufPool.Get().(*[]byte)
		defer bufPool.Put(bp)
		for {
			i := next.Add(1) - 1
			if i >= int64(n) {
				return
			}
			off := i * segmentSize
			want := min(int64(segmentSize), size-off)
			buf := (*bp)[:want]
			got, err := r.ReadAt(buf, off)
			if int64(got) < want {
				if err == nil || err == io.EOF {
					err = fmt.Errorf("hashing %s: file shrank while being hashed (read %d bytes at offset %d, want %d)", name, got, off, want)
				} else {
					err = fmt.Errorf("hashing %s: %w", name, err)
				}
				errOnce.Do(func() { first = err })
				next.Store(int64(n)) // stop the other workers early
				return
			}
			sum := blake3.Sum256(buf)
			copy(leaves[32*i:], sum[:])
		}
	}
	wg.Add(workers)
	for range workers - 1 {
		go work()
	}
	work()
	wg.Wait()
	if first != nil {
		return ID{}, first
	}
	return rootDigest(size, leaves), nil
}

// rootDigest combines the leaves into the content digest.
func rootDigest(size int64, leaves []byte) ID {
	h := blake3.New()
	h.WriteString(contentSalt)
	var sz [8]byte
	binary.LittleEndian.PutUint64(sz[:], uint64(size))
	h.Write(sz[:])
	h.Write(leaves)
	var id ID
	h.Sum(id[:0])
	return id
}

// DigestBytes returns the content digest of b, the same value DigestPath
// gives for a file holding b.
func DigestBytes(b []byte) ID {
	n := (len(b) + segmentSize - 1) / segmentSize
	leaves := make([]byte, 0, 32*n)
	for off := 0; off < len(b); off += segmentSize {
		sum := blake3.Sum256(b[off:min(off+segmentSize, len(b))])
		leaves = append(leaves, sum[:]...)
	}
	return rootDigest(int64(len(b)), leaves)
}

// folderSalt starts the text whose digest is a folder's digest. v2: the
// text lists subfolders too, so that an empty folder added or removed
// changes the digest (v1 listed files only).
const folderSalt = "refeval folder v2\n"

// A folderLine is one file below a folder being hashed.
type folderLine struct {
	name   string // slash path relative to the folder
	digest ID
	exec   bool
}

// folderDigestOf returns a folder's digest from its files (sorted by name)
// and its subfolders (slash paths relative to it, the folder itself
// excluded, any order):
//
//	refeval folder v2
//	<digest> <x or -> <quoted name>     one per file, sorted by name
//	folder <quoted name>                one per subfolder, sorted by name
//
// "folder" can never be a digest (64 hex digits), so the two kinds of lines
// cannot be confused.
func folderDigestOf(files []folderLine, dirs []string) ID {
	h := blake3.New()
	h.WriteString(folderSalt)
	for _, f := range files {
		x := "-"
		if f.exec {
			x = "x"
		}
		fmt.Fprintf(h, "%s %s %s\n", f.digest, x, strconv.Quote(f.name))
	}
	dirs = slices.Clone(dirs)
	slices.Sort(dirs)
	for _, d := range dirs {
		fmt.Fprintf(h, "folder %s\n", strconv.Quote(d))
	}
	var id ID
	h.Sum(id[:0])
	return id
}

// openHashed opens the file p and hashes its content (name in errors). It
// returns the open file, for the caller to close, and its stat before the
// hashing: what commitFile and hashFile both start with.
func openHashed(p, name string) (*os.File, fs.FileInfo, ID, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, ID{}, err
	}
	fi, err := f.Stat()
	if err == nil {
		if readHook != nil {
			readHook(p)
		}
		var digest ID
		if digest, err = digestReaderAt(f, fi.Size(), name); err == nil {
			return f, fi, digest, nil
		}
	}
	f.Close()
	return nil, nil, ID{}, err
}
