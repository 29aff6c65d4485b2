package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refeval/refeval/cache"
)

// s3Endpoint returns the test store's endpoint (scripts/services/s3.sh)
// and sets the AWS credentials of the process to the store's. Without
// one, the test is skipped, or fails under CI.
func s3Endpoint(t *testing.T) string {
	t.Helper()
	ep := os.Getenv("REFEVAL_TEST_S3_ENDPOINT")
	if ep == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("REFEVAL_TEST_S3_ENDPOINT is not set: scripts/services/s3.sh must start the S3 store under CI")
		}
		t.Skip("no S3 store: run scripts/test.sh, or source scripts/services/s3.sh and start_s3")
	}
	t.Setenv("AWS_ACCESS_KEY_ID", os.Getenv("REFEVAL_TEST_S3_ACCESS_KEY"))
	t.Setenv("AWS_SECRET_ACCESS_KEY", os.Getenv("REFEVAL_TEST_S3_SECRET_KEY"))
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	return ep
}

// testURL is a fresh prefix in the test bucket.
func testURL(t *testing.T) string {
	b := make([]byte, 6)
	rand.Read(b)
	bucket := os.Getenv("REFEVAL_TEST_S3_BUCKET")
	if bucket == "" {
		bucket = "refeval-test"
	}
	return "s3://" + bucket + "/" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + hex.EncodeToString(b)
}

func newTestS3(t *testing.T, endpoint string, url string, partSize int64) *S3 {
	t.Helper()
	s, err := NewS3(context.Background(), url, S3Options{Endpoint: endpoint, Timeout: 3 * time.Second, PartSize: partSize})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		err := s.CreateBucket(ctx)
		if err == nil {
			return s
		}
		if ctx.Err() != nil {
			t.Fatalf("the test bucket is not ready: %v", err)
		}
		time.Sleep(time.Second)
	}
}

// proxy forwards TCP connections to target until the clients have sent
// limit bytes; then it closes every connection and refuses new ones, as
// a server that stopped would.
type proxy struct {
	ln     net.Listener
	sent   atomic.Int64
	limit  int64
	mu     sync.Mutex
	conns  []net.Conn
	closed bool
}

func newProxy(t *testing.T, target string, limit int64) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, limit: limit}
	t.Cleanup(p.stop)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			closed := p.closed
			p.mu.Unlock()
			if closed {
				c.Close()
				s.Close()
				return
			}
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if p.limit > 0 && p.sent.Add(int64(n)) > p.limit {
							p.stop()
							c.Close()
							s.Close()
							return
						}
						if _, werr := s.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						s.Close()
						return
					}
				}
			}()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) endpoint() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
}

func TestS3Store(t *testing.T) {
	ep := s3Endpoint(t)
	s := newTestS3(t, ep, testURL(t), 5<<20)
	ctx := context.Background()
	big := bigData(11<<20 + 5) // three parts
	tests := []struct {
		key  string
		data []byte
	}{
		{"ac/one", []byte("entry")},
		{"blob/empty", nil},
		{"blob/big", big},
	}
	for _, tt := range tests {
		if err := s.Put(ctx, tt.key, bytes.NewReader(tt.data), int64(len(tt.data))); err != nil {
			t.Fatalf("Put %s: %v", tt.key, err)
		}
		rc, obj, err := s.Get(ctx, tt.key, 0, -1)
		if err != nil {
			t.Fatalf("Get %s: %v", tt.key, err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if !bytes.Equal(got, tt.data) || obj.Size != int64(len(tt.data)) {
			t.Errorf("Get %s: %d bytes (size %d), want %d", tt.key, len(got), obj.Size, len(tt.data))
		}
	}
	rc, _, err := s.Get(ctx, "blob/big", 7<<20, 100)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, big[7<<20:7<<20+100]) {
		t.Errorf("ranged Get returned the wrong bytes")
	}
	var keys []string
	if err := s.List(ctx, "blob/", func(o Object) error { keys = append(keys, o.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(keys, " ") != "blob/big blob/empty" {
		t.Errorf("wrong List\ngot:  %q\nwant: [blob/big blob/empty]", keys)
	}
	if _, _, err := s.Get(ctx, "ac/none", 0, -1); !errors.Is(err, ErrNotExist) {
		t.Errorf("Get of a missing key: %v, want ErrNotExist", err)
	}
	if err := s.Delete(ctx, "ac/one"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(ctx, "ac/one"); !errors.Is(err, ErrNotExist) {
		t.Errorf("Stat after Delete: %v, want ErrNotExist", err)
	}
}

// TestS3ResumesMultipart: a multipart upload cut off by the server going
// away is resumed by the next Put of the same key, which sends only the
// parts the store does not have.
func TestS3ResumesMultipart(t *testing.T) {
	ep := s3Endpoint(t)
	url := testURL(t)
	direct := newTestS3(t, ep, url, 5<<20)
	data := bigData(26 << 20) // six parts
	host := strings.TrimPrefix(ep, "http://")

	cut := newProxy(t, host, 16<<20)
	s1, err := NewS3(context.Background(), url, S3Options{Endpoint: cut.endpoint(), Timeout: 3 * time.Second, PartSize: 5 << 20, Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.Put(context.Background(), "blob/x", bytes.NewReader(data), int64(len(data))); err == nil {
		t.Fatal("Put through a proxy that died succeeded")
	}
	if _, err := direct.Stat(context.Background(), "blob/x"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("a cut-off upload left an object: %v", err)
	}
	count := newProxy(t, host, 0)
	s2, _ := NewS3(context.Background(), url, S3Options{Endpoint: count.endpoint(), Timeout: 3 * time.Second, PartSize: 5 << 20})
	if err := s2.Put(context.Background(), "blob/x", bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
	if sent := count.sent.Load(); sent > int64(len(data))-(5<<20) {
		t.Errorf("the resumed upload sent %d bytes of %d: no part was reused", sent, len(data))
	}
	rc, _, err := direct.Get(context.Background(), "blob/x", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Errorf("resumed object differs (%d bytes, want %d)", len(got), len(data))
	}
}

// TestS3ServerStoppedMidUpload: the store goes away while a result is
// uploaded; no entry may appear, and another machine misses.
func TestS3ServerStoppedMidUpload(t *testing.T) {
	ep := s3Endpoint(t)
	url := testURL(t)
	direct := newTestS3(t, ep, url, 5<<20)
	cut := newProxy(t, strings.TrimPrefix(ep, "http://"), 8<<20)
	via, err := NewS3(context.Background(), url, S3Options{Endpoint: cut.endpoint(), Timeout: 3 * time.Second, PartSize: 5 << 20})
	if err != nil {
		t.Fatal(err)
	}
	a := newMachine(t, via, ReadWrite)
	action := actionID("big")
	e := a.build(t, action, map[string][]byte{"a.txt": []byte("small"), "model.bin": bigData(20 << 20)})
	a.r.Upload(action, e)
	if _, err := a.r.Wait(); err == nil {
		t.Error("Wait reported no error although the store went away")
	}
	var entries []string
	direct.List(context.Background(), entryPrefix, func(o Object) error { entries = append(entries, o.Key); return nil })
	if len(entries) > 0 {
		t.Errorf("entries in the store after a cut-off upload: %q", entries)
	}
	b := newMachine(t, direct, ReadWrite)
	if _, err := b.r.Fetch(context.Background(), action, "p", "x"); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("Fetch after a cut-off upload: %v, want ErrNotFound", err)
	}
}

// TestS3TwoMachines: what A uploads, B downloads byte for byte, and a
// blob damaged in the bucket is a miss.
func TestS3TwoMachines(t *testing.T) {
	ep := s3Endpoint(t)
	s := newTestS3(t, ep, testURL(t), 0)
	a, b := newMachine(t, s, ReadWrite), newMachine(t, s, ReadWrite)
	files := map[string][]byte{"scores.jsonl": []byte(`{"score": 1}` + "\n"), "ckpt/w.bin": bigData(DefaultPartSize + 5)}
	action := actionID("judge")
	e := a.build(t, action, files)
	a.r.Upload(action, e)
	if _, err := a.r.Wait(); err != nil {
		t.Fatal(err)
	}
	got, err := b.r.Fetch(context.Background(), action, "p", "stage.score.judge")
	if err != nil {
		t.Fatal(err)
	}
	out := readOutput(t, b.c, got)
	for name, want := range files {
		if !bytes.Equal(out[name], want) {
			t.Errorf("%s differs after the round trip", name)
		}
	}
	// Damage the small blob in the bucket; a third machine misses.
	s.Put(context.Background(), blobKey(cache.DigestBytes(files["scores.jsonl"])), strings.NewReader(`{"score": 9}`+"\n"), 13)
	c := newMachine(t, s, ReadWrite)
	if _, err := c.r.Fetch(context.Background(), action, "p", "stage.score.judge"); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("Fetch with a damaged blob: %v, want ErrNotFound", err)
	}
	if w := c.warnings(); len(w) != 1 || !strings.Contains(w[0], "damaged") {
		t.Errorf("want one damage warning, got %q", w)
	}
}
