package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/refeval/refeval/cache"
)

// touchInterval is how old a remote entry's modification time may get
// before a hit rewrites it, so that `cache gc --remote` sees it as used
// (the local cache's Touch uses the same hour).
const touchInterval = time.Hour

// readEntry fetches and checks action's entry. A missing entry is
// cache.ErrNotFound; a damaged one is a damageError.
func (r *Remote) readEntry(ctx context.Context, action cache.ID) (*cache.Entry, []byte, Object, error) {
	sctx, cancel := r.short(ctx)
	defer cancel()
	rc, obj, err := r.store.Get(sctx, entryKey(action), 0, -1)
	if errors.Is(err, ErrNotExist) {
		return nil, nil, obj, cache.ErrNotFound
	}
	if err != nil {
		return nil, nil, obj, err
	}
	data, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	rc.Close()
	if err != nil {
		return nil, nil, obj, err
	}
	e, err := cache.DecodeEntry(data)
	if err != nil {
		return nil, nil, obj, damageError{err}
	}
	for _, f := range e.Files {
		// Checked before anything is written, whoever wrote the entry:
		// a backslash would be a separator on another system.
		if strings.Contains(f.Name, "\\") {
			return nil, nil, obj, damageError{fmt.Errorf("its manifest names %q, not a path inside the output folder", f.Name)}
		}
	}
	return e, data, obj, nil
}

// Fetch looks action up in the remote. On a hit it downloads the output
// files into the local cache, verifying each against the manifest's
// digest as it streams, commits them and puts the entry (under the local
// pipeline and address) into the local cache, and returns it. A miss,
// a damaged entry or blob (reported once) and an unreachable remote
// (reported once, then every lookup misses) all return cache.ErrNotFound:
// the caller runs the stage. Only local cache failures are other errors.
func (r *Remote) Fetch(ctx context.Context, action cache.ID, pipeline, addr string) (*cache.Entry, error) {
	if r.opt.Mode&Read == 0 || r.down.Load() {
		return nil, cache.ErrNotFound
	}
	e, data, obj, err := r.readEntry(ctx, action)
	switch {
	case err == nil:
	case errors.Is(err, cache.ErrNotFound):
		return nil, err
	case isDamage(err):
		r.damaged(entryKey(action), "the entry of "+addr, err)
		return nil, cache.ErrNotFound
	default:
		r.fail(ctx, err)
		return nil, cache.ErrNotFound
	}
	n, err := r.download(ctx, e)
	if err != nil {
		if isDamage(err) {
			r.damaged(entryKey(action), "the output of "+addr, err)
		} else if !errors.Is(err, errLocal) {
			r.fail(ctx, err)
		} else {
			return nil, err
		}
		return nil, cache.ErrNotFound
	}
	local := *e
	local.Scope, local.Name = pipeline, addr
	local.Created, local.LastUsed = time.Time{}, time.Time{}
	if err := r.c.Put(action, &local); err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.stats.Hits++
	r.stats.Down += n
	r.mu.Unlock()
	if r.opt.Mode&Write != 0 && time.Since(obj.Modified) > touchInterval {
		// Mark the entry used for `cache gc --remote`: same bytes again.
		r.enqueue(func(ctx context.Context) error {
			return r.putBytes(ctx, entryKey(action), data)
		})
	}
	return &local, nil
}

// errLocal marks failures of the local cache during a download.
var errLocal = errors.New("local cache")

// download fetches e's output into the local cache unless it is there
// already; it returns the bytes downloaded.
func (r *Remote) download(ctx context.Context, e *cache.Entry) (int64, error) {
	if r.c.HasOutput(e.OutputID, e.Files) {
		return 0, nil // the same output as another entry (early cutoff)
	}
	tmp, err := r.c.NewOutputDir()
	if err != nil {
		return 0, fmt.Errorf("%w: %v", errLocal, err)
	}
	var (
		g     errgroup.Group
		mu    sync.Mutex
		first error // a damage error wins: it is reported, and the entry skipped
		total int64
	)
	g.SetLimit(r.opt.Parallel)
	for _, f := range e.Files {
		g.Go(func() error {
			mu.Lock()
			stop := first != nil
			mu.Unlock()
			if stop {
				return nil
			}
			err := r.downloadFile(ctx, tmp, f)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && (first == nil || isDamage(err) && !isDamage(first)) {
				first = err
			}
			if err == nil {
				total += f.Size
			}
			return nil
		})
	}
	g.Wait()
	if first == nil {
		if err := r.c.CommitVerified(tmp, e.OutputID, e.Files); err != nil {
			r.c.DiscardOutputDir(tmp)
			return 0, fmt.Errorf("%w: %v", errLocal, err)
		}
		return total, nil
	}
	r.c.DiscardOutputDir(tmp)
	return 0, first
}

// downloadFile fetches one blob into dir in pieces of DefaultPartSize,
// up to four at once, hashing the content tree's leaves of each piece as
// it arrives; the file is kept only if the root digest matches. A blob of
// more than one piece goes through a partial file kept between runs
// (cache.PartialPath) with a log of its finished pieces, so that a
// download cut off (the store went away, Ctrl-C) resumes where it
// stopped; resumed pieces are rehashed from the local file, not trusted.
func (r *Remote) downloadFile(ctx context.Context, dir string, f cache.File) error {
	p := filepath.Join(dir, filepath.FromSlash(f.Name))
	if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
		return fmt.Errorf("%w: %v", errLocal, err)
	}
	piece := int64(DefaultPartSize)
	npieces := (f.Size + piece - 1) / piece
	if npieces <= 1 {
		out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return fmt.Errorf("%w: %v", errLocal, err)
		}
		defer out.Close()
		leaves := make([]byte, 32*((f.Size+cache.SegmentSize-1)/cache.SegmentSize))
		if f.Size > 0 {
			if err := r.getPiece(ctx, f, out, 0, f.Size, make([]byte, cache.SegmentSize), leaves); err != nil {
				return err
			}
		}
		if got := cache.DigestOfLeaves(f.Size, leaves); got != f.Digest {
			return damageError{fmt.Errorf("blob %s (%s) has digest %s", f.Digest, f.Name, got)}
		}
		return nil
	}

	// One download of a blob at a time in this process (two outputs may
	// hold the same file).
	unlock := r.lockBlob(f.Digest)
	defer unlock()
	part := r.c.PartialPath(f.Digest.String())
	out, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("%w: %v", errLocal, err)
	}
	defer out.Close()
	logf, err := os.OpenFile(part+".pieces", os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("%w: %v", errLocal, err)
	}
	defer logf.Close()
	seg := int64(cache.SegmentSize)
	leaves := make([]byte, 32*((f.Size+seg-1)/seg))
	done := r.resumePieces(out, logf, f, piece, leaves)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan int64)
	)
	for range min(4, npieces) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, seg)
			for i := range next {
				off := i * piece
				err := r.getPiece(ctx, f, out, off, min(piece, f.Size-off), buf, leaves)
				if err == nil {
					// Durable before it is logged as done.
					if err = out.Sync(); err == nil {
						mu.Lock()
						_, err = fmt.Fprintf(logf, "%d\n", i)
						mu.Unlock()
					}
					if err != nil {
						err = fmt.Errorf("%w: %v", errLocal, err)
					}
				}
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range npieces {
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if stop {
			break
		}
		if !done[i] {
			next <- i
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		if isDamage(first) {
			os.Remove(part)
			os.Remove(part + ".pieces")
		}
		return first
	}
	if got := cache.DigestOfLeaves(f.Size, leaves); got != f.Digest {
		os.Remove(part)
		os.Remove(part + ".pieces")
		return damageError{fmt.Errorf("blob %s (%s) has digest %s", f.Digest, f.Name, got)}
	}
	if err := os.Rename(part, p); err != nil {
		return fmt.Errorf("%w: %v", errLocal, err)
	}
	os.Remove(part + ".pieces")
	return nil
}

// resumePieces reads the log of a partial download's finished pieces and
// rehashes each from the partial file into leaves; it returns the pieces
// that need no download. A piece the file does not hold whole is fetched
// again.
func (r *Remote) resumePieces(out *os.File, logf *os.File, f cache.File, piece int64, leaves []byte) map[int64]bool {
	done := map[int64]bool{}
	data, err := io.ReadAll(logf)
	if err != nil || len(data) == 0 {
		return done
	}
	seg := int64(cache.SegmentSize)
	buf := make([]byte, seg)
	var resumed int64
	for _, line := range strings.Split(string(data), "\n") {
		var i int64
		if _, err := fmt.Sscanf(line, "%d", &i); err != nil || i < 0 || i*piece >= f.Size || done[i] {
			continue
		}
		off, end := i*piece, min((i+1)*piece, f.Size)
		ok := true
		for o := off; o < end; o += seg {
			n := min(seg, end-o)
			if _, err := out.ReadAt(buf[:n], o); err != nil {
				ok = false
				break
			}
			leaf := cache.LeafDigest(buf[:n])
			copy(leaves[32*(o/seg):], leaf[:])
		}
		if ok {
			done[i] = true
			resumed += end - off
		}
	}
	r.mu.Lock()
	r.stats.Resumed += resumed
	r.mu.Unlock()
	return done
}

// lockBlob serializes the downloads of one blob in this process.
func (r *Remote) lockBlob(d cache.ID) func() {
	r.mu.Lock()
	if r.blobLocks == nil {
		r.blobLocks = map[cache.ID]*sync.Mutex{}
	}
	l := r.blobLocks[d]
	if l == nil {
		l = &sync.Mutex{}
		r.blobLocks[d] = l
	}
	r.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// getPiece downloads n bytes of f's blob at off into out, one segment at
// a time, writing each segment's leaf hash into leaves.
func (r *Remote) getPiece(ctx context.Context, f cache.File, out *os.File, off, n int64, buf, leaves []byte) error {
	rc, _, err := r.store.Get(ctx, blobKey(f.Digest), off, n)
	if errors.Is(err, ErrNotExist) {
		return damageError{fmt.Errorf("blob %s (%s) is missing", f.Digest, f.Name)}
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	for done := int64(0); done < n; {
		want := min(int64(len(buf)), n-done)
		got, err := io.ReadFull(rc, buf[:want])
		if err == io.ErrUnexpectedEOF || err == io.EOF {
			return damageError{fmt.Errorf("blob %s (%s) is shorter than %d bytes", f.Digest, f.Name, f.Size)}
		}
		if err != nil {
			return err
		}
		if _, err := out.WriteAt(buf[:got], off+done); err != nil {
			return fmt.Errorf("%w: %v", errLocal, err)
		}
		leaf := cache.LeafDigest(buf[:got])
		copy(leaves[32*((off+done)/int64(cache.SegmentSize)):], leaf[:])
		done += int64(got)
	}
	return nil
}
