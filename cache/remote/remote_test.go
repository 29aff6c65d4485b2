package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refeval/refeval/cache"
)

// machine is one simulated machine: a local cache and a Remote over a
// shared store, with the warnings it printed.
type machine struct {
	c     *cache.Cache
	r     *Remote
	mu    sync.Mutex
	warns []string
}

func newMachine(t *testing.T, store Store, mode Mode) *machine {
	t.Helper()
	c, err := cache.Open(t.TempDir(), cache.Options{NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	m := &machine{c: c}
	m.r = New(store, c, Options{Mode: mode, Timeout: 2 * time.Second, Warn: func(msg string) {
		m.mu.Lock()
		m.warns = append(m.warns, msg)
		m.mu.Unlock()
	}})
	t.Cleanup(m.r.Close)
	return m
}

func (m *machine) warnings() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.warns...)
}

// build commits files as the output of action and puts its entry, as the
// engine does after running a stage.
func (m *machine) build(t *testing.T, action cache.ID, files map[string][]byte) *cache.Entry {
	t.Helper()
	tmp, err := m.c.NewOutputDir()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		p := filepath.Join(tmp, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o777)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	oid, manifest, err := m.c.CommitOutput(tmp)
	if err != nil {
		t.Fatal(err)
	}
	e := &cache.Entry{OutputID: oid, Files: manifest, Name: "stage.exec.x", Scope: "/a/p.hcl", Meta: []byte(`{"Kind":"exec"}`)}
	if err := m.c.Put(action, e); err != nil {
		t.Fatal(err)
	}
	return e
}

func actionID(s string) cache.ID {
	h := cache.NewHash("test", nil)
	h.Line("%s", s)
	return h.Sum()
}

// readOutput returns the files of a local output.
func readOutput(t *testing.T, c *cache.Cache, e *cache.Entry) map[string][]byte {
	t.Helper()
	got := map[string][]byte{}
	for _, f := range e.Files {
		b, err := os.ReadFile(filepath.Join(c.OutputDir(e.OutputID), filepath.FromSlash(f.Name)))
		if err != nil {
			t.Fatal(err)
		}
		got[f.Name] = b
	}
	return got
}

func bigData(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/4099)
	}
	return b
}

func TestFetchAfterUpload(t *testing.T) {
	tests := []struct {
		name  string
		files map[string][]byte
	}{
		{"small", map[string][]byte{"a.txt": []byte("hello\n"), "sub/b.json": []byte("{}"), "empty": nil}},
		// Bigger than one download piece, not a multiple of a segment.
		{"pieces", map[string][]byte{"model.bin": bigData(DefaultPartSize + 3*cache.SegmentSize + 17)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := NewMemStore()
			a, b := newMachine(t, store, ReadWrite), newMachine(t, store, ReadWrite)
			action := actionID(tt.name)
			e := a.build(t, action, tt.files)
			a.r.Upload(action, e)
			if _, err := a.r.Wait(); err != nil {
				t.Fatal(err)
			}
			got, err := b.r.Fetch(context.Background(), action, "/b/p.hcl", "stage.exec.y")
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if got.OutputID != e.OutputID || got.Scope != "/b/p.hcl" || got.Name != "stage.exec.y" {
				t.Errorf("wrong entry\ngot:  %s %s %s\nwant: %s /b/p.hcl stage.exec.y", got.OutputID, got.Scope, got.Name, e.OutputID)
			}
			local, err := b.c.Get(action)
			if err != nil {
				t.Fatalf("local Get after Fetch: %v", err)
			}
			if err := b.c.VerifyOutput(local.OutputID, local.Files); err != nil {
				t.Errorf("fetched output does not verify: %v", err)
			}
			out := readOutput(t, b.c, local)
			for name, want := range tt.files {
				if !bytes.Equal(out[name], want) {
					t.Errorf("wrong content of %s (%d bytes, want %d)", name, len(out[name]), len(want))
				}
			}
			if w := b.warnings(); len(w) > 0 {
				t.Errorf("unexpected warnings: %q", w)
			}
		})
	}
}

// TestBlobsBeforeEntry checks the upload order: a reader never sees an
// entry whose blobs are missing.
func TestBlobsBeforeEntry(t *testing.T) {
	store := NewMemStore()
	var mu sync.Mutex
	var puts []string
	store.Fail = func(op, key string) error {
		if op == "put" {
			mu.Lock()
			puts = append(puts, key)
			mu.Unlock()
		}
		return nil
	}
	a := newMachine(t, store, ReadWrite)
	action := actionID("order")
	e := a.build(t, action, map[string][]byte{"1": []byte("one"), "2": []byte("two"), "3": []byte("three")})
	a.r.Upload(action, e)
	if _, err := a.r.Wait(); err != nil {
		t.Fatal(err)
	}
	if len(puts) != 4 || puts[3] != entryKey(action) {
		t.Errorf("wrong upload order\ngot:  %q\nwant: 3 blobs, then %s", puts, entryKey(action))
	}
}

// TestFailedUploadLeavesNoEntry: the store fails on the second blob; no
// entry may appear, and the build's Wait reports the failure.
func TestFailedUploadLeavesNoEntry(t *testing.T) {
	store := NewMemStore()
	n := 0
	store.Fail = func(op, key string) error {
		if op == "put" && strings.HasPrefix(key, blobPrefix) {
			if n++; n == 2 {
				return errors.New("connection reset by peer")
			}
		}
		return nil
	}
	a := newMachine(t, store, ReadWrite)
	action := actionID("torn")
	e := a.build(t, action, map[string][]byte{"1": []byte("one"), "2": []byte("two")})
	a.r.Upload(action, e)
	if _, err := a.r.Wait(); err == nil {
		t.Error("Wait reported no error for a failed upload")
	}
	for _, k := range store.Keys() {
		if strings.HasPrefix(k, entryPrefix) {
			t.Errorf("entry %s written although a blob failed", k)
		}
	}
}

func TestDamageIsAMissReportedOnce(t *testing.T) {
	tests := []struct {
		name   string
		damage func(s *MemStore, action cache.ID, e *cache.Entry)
	}{
		{"blob content", func(s *MemStore, _ cache.ID, e *cache.Entry) {
			s.Set(blobKey(e.Files[0].Digest), []byte("HELLO\n"))
		}},
		{"blob short", func(s *MemStore, _ cache.ID, e *cache.Entry) {
			s.Set(blobKey(e.Files[0].Digest), []byte("hel"))
		}},
		{"blob missing", func(s *MemStore, _ cache.ID, e *cache.Entry) {
			s.Delete(context.Background(), blobKey(e.Files[0].Digest))
		}},
		{"entry not JSON", func(s *MemStore, action cache.ID, _ *cache.Entry) {
			s.Set(entryKey(action), []byte("{not json"))
		}},
		{"entry name outside the folder", func(s *MemStore, action cache.ID, e *cache.Entry) {
			bad := *e
			bad.Files = []cache.File{{Name: "../../escaped.txt", Size: 6, Digest: cache.DigestBytes([]byte("hello\n")), Mode: 0o444}}
			bad.OutputID = cache.OutputIDOf(bad.Files)
			data, _ := json.Marshal(&bad)
			s.Set(entryKey(action), data)
		}},
		{"entry name with a backslash", func(s *MemStore, action cache.ID, e *cache.Entry) {
			bad := *e
			bad.Files = []cache.File{{Name: `..\escaped.txt`, Size: 6, Digest: cache.DigestBytes([]byte("hello\n")), Mode: 0o444}}
			bad.OutputID = cache.OutputIDOf(bad.Files)
			data, _ := json.Marshal(&bad)
			s.Set(entryKey(action), data)
		}},
		{"entry manifest", func(s *MemStore, action cache.ID, e *cache.Entry) {
			s.Set(entryKey(action), []byte(`{"OutputID":"`+e.OutputID.String()+`","Files":[]}`))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := NewMemStore()
			a, b := newMachine(t, store, ReadWrite), newMachine(t, store, ReadWrite)
			action := actionID(tt.name)
			e := a.build(t, action, map[string][]byte{"a.txt": []byte("hello\n")})
			a.r.Upload(action, e)
			a.r.Wait()
			tt.damage(store, action, e)
			for range 2 {
				if _, err := b.r.Fetch(context.Background(), action, "p", "stage.exec.x"); !errors.Is(err, cache.ErrNotFound) {
					t.Fatalf("Fetch of damaged %s: err %v, want ErrNotFound", tt.name, err)
				}
			}
			if _, err := b.c.Get(action); !errors.Is(err, cache.ErrNotFound) {
				t.Errorf("local entry after a damaged fetch: %v", err)
			}
			if _, err := os.Stat(filepath.Join(b.c.Dir(), "escaped.txt")); err == nil {
				t.Error("a manifest name wrote a file outside the output folder")
			}
			w := b.warnings()
			if len(w) != 1 || !strings.Contains(w[0], "damaged") {
				t.Errorf("want one warning saying damaged, got %q", w)
			}
			if b.r.Down() {
				t.Error("damage marked the remote down")
			}
		})
	}
}

func TestUnreachableWarnsOnceAndStops(t *testing.T) {
	store := NewMemStore()
	var calls int
	var mu sync.Mutex
	store.Fail = func(op, key string) error {
		mu.Lock()
		calls++
		mu.Unlock()
		return errors.New("dial tcp 127.0.0.1:8333: connect: connection refused")
	}
	m := newMachine(t, store, ReadWrite)
	for i := range 5 {
		if _, err := m.r.Fetch(context.Background(), actionID(string(rune('a'+i))), "p", "x"); !errors.Is(err, cache.ErrNotFound) {
			t.Fatalf("Fetch: %v, want ErrNotFound", err)
		}
	}
	e := m.build(t, actionID("local"), map[string][]byte{"f": []byte("x")})
	m.r.Upload(actionID("local"), e)
	m.r.Wait()
	if calls != 1 {
		t.Errorf("the store was asked %d times, want 1 (then the remote is down)", calls)
	}
	if w := m.warnings(); len(w) != 1 || !strings.Contains(w[0], "unreachable") {
		t.Errorf("want one unreachable warning, got %q", w)
	}
}

func TestModes(t *testing.T) {
	tests := []struct {
		mode               Mode
		uploads, downloads bool
	}{
		{Read, false, true},
		{Write, true, false},
		{ReadWrite, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			store := NewMemStore()
			m := newMachine(t, store, tt.mode)
			action := actionID("mine")
			e := m.build(t, action, map[string][]byte{"f": []byte("mine")})
			m.r.Upload(action, e)
			m.r.Memo("ns", m.c.Memo("ns")).Put("k", []byte("v"))
			m.r.Wait()
			if got := len(store.Keys()) > 0; got != tt.uploads {
				t.Errorf("uploaded: %v, want %v (keys %q)", got, tt.uploads, store.Keys())
			}
			// Someone else's result.
			other := newMachine(t, store, ReadWrite)
			oa := actionID("theirs")
			other.r.Upload(oa, other.build(t, oa, map[string][]byte{"f": []byte("theirs")}))
			other.r.Wait()
			_, err := m.r.Fetch(context.Background(), oa, "p", "x")
			if got := err == nil; got != tt.downloads {
				t.Errorf("downloaded: %v (err %v), want %v", got, err, tt.downloads)
			}
		})
	}
}

func TestMemos(t *testing.T) {
	store := NewMemStore()
	a, b := newMachine(t, store, ReadWrite), newMachine(t, store, ReadWrite)
	ma := a.r.Memo("judge v1", a.c.Memo("judge v1"))
	for _, k := range []string{"pair 1", "pair 2"} {
		if err := ma.Put(k, []byte("verdict of "+k)); err != nil {
			t.Fatal(err)
		}
	}
	a.r.Wait()
	store.Set(memoKey("judge v1", "pair 2"), []byte("garbage that is long enough to have a digest......"))
	mb := b.r.Memo("judge v1", b.c.Memo("judge v1"))
	tests := []struct {
		key  string
		want string // "" for a miss
	}{
		{"pair 1", "verdict of pair 1"},
		{"pair 2", ""}, // damaged
		{"pair 3", ""}, // never stored
	}
	for _, tt := range tests {
		val, ok, err := mb.Get(tt.key)
		if err != nil || ok != (tt.want != "") || string(val) != tt.want {
			t.Errorf("Get(%q) = %q, %v, %v; want %q", tt.key, val, ok, err, tt.want)
		}
	}
	// The hit is now local.
	if val, ok, _ := b.c.Memo("judge v1").Get("pair 1"); !ok || string(val) != "verdict of pair 1" {
		t.Errorf("remote memo hit not copied into the local cache: %q %v", val, ok)
	}
	// Another namespace does not see it.
	if _, ok, _ := b.r.Memo("judge v2", b.c.Memo("judge v2")).Get("pair 1"); ok {
		t.Error("memo of namespace judge v1 found under judge v2")
	}
	if w := b.warnings(); len(w) != 1 || !strings.Contains(w[0], "damaged") {
		t.Errorf("want one damage warning, got %q", w)
	}
}

func TestGC(t *testing.T) {
	store := NewMemStore()
	now := time.Now()
	store.Now = func() time.Time { return now.Add(-10 * 24 * time.Hour) }
	m := newMachine(t, store, ReadWrite)
	oldA := actionID("old")
	m.r.Upload(oldA, m.build(t, oldA, map[string][]byte{"old": []byte("old"), "shared": []byte("shared")}))
	m.r.Memo("ns", m.c.Memo("ns")).Put("k", []byte("v"))
	m.r.Wait()
	store.Now = nil
	newA := actionID("new")
	m.r.Upload(newA, m.build(t, newA, map[string][]byte{"new": []byte("new"), "shared": []byte("shared")}))
	m.r.Wait()

	rep, err := m.r.GC(context.Background(), 5*24*time.Hour, false)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Entries != 1 || rep.Blobs != 1 || rep.Memos != 1 || rep.Kept != 1 {
		t.Errorf("wrong report %+v; want 1 entry, 1 blob, 1 memo removed, 1 kept", rep)
	}
	want := map[string]bool{entryKey(newA): true, blobKey(cache.DigestBytes([]byte("new"))): true, blobKey(cache.DigestBytes([]byte("shared"))): true}
	keys := store.Keys()
	for _, k := range keys {
		if !want[k] {
			t.Errorf("key %s left after GC", k)
		}
	}
	if len(keys) != len(want) {
		t.Errorf("keys after GC: %q, want %d", keys, len(want))
	}
}

// TestSlowRemote: a store that accepts connections but never answers
// costs one bounded wait, then the remote is down and every lookup is a
// miss at once.
func TestSlowRemote(t *testing.T) {
	timeout := 300 * time.Millisecond
	s, conns := silentS3(t, S3Options{Timeout: timeout})
	m := newMachine(t, s, ReadWrite)
	m.r.opt.Timeout = timeout
	start := time.Now()
	for i := range 4 {
		if _, err := m.r.Fetch(context.Background(), actionID(fmt.Sprint(i)), "p", "x"); !errors.Is(err, cache.ErrNotFound) {
			t.Fatalf("Fetch: %v, want ErrNotFound", err)
		}
	}
	// Two attempts of one request at most, not one per lookup.
	if n := conns.Load(); n > 2 {
		t.Errorf("4 lookups of a silent store made %d connections; want the 2 attempts of the first lookup, then none", n)
	}
	if d := time.Since(start); d > 4*timeout+2*time.Second {
		t.Errorf("4 lookups of a silent store took %v; want about one timeout (%v)", d, timeout)
	}
	if w := m.warnings(); len(w) != 1 || !strings.Contains(w[0], "unreachable") {
		t.Errorf("want one unreachable warning, got %q", w)
	}
}

// TestStalledUpload: a store that stops reading an upload fails it
// within the timeout instead of blocking the build's exit.
func TestStalledUpload(t *testing.T) {
	timeout := 300 * time.Millisecond
	s, _ := silentS3(t, S3Options{Timeout: timeout, PartSize: 64 << 20})
	data := make([]byte, 48<<20)
	start := time.Now()
	if err := s.Put(context.Background(), "blob/x", bytes.NewReader(data), int64(len(data))); err == nil {
		t.Fatal("Put to a store that reads nothing succeeded")
	}
	if d := time.Since(start); d > 10*timeout+2*time.Second {
		t.Errorf("a stalled upload took %v to fail; want a few timeouts (%v)", d, timeout)
	}
}

// silentS3 opens an S3 store, with opt and fake credentials, whose
// endpoint accepts connections and holds them open without reading or
// answering; conns counts the connections it accepted.
func silentS3(t *testing.T, opt S3Options) (s *S3, conns *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	conns = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			defer c.Close() // hold it open until the listener closes
		}
	}()
	t.Setenv("AWS_ACCESS_KEY_ID", "k")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "s")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	opt.Endpoint = "http://" + ln.Addr().String()
	s, err = NewS3(context.Background(), "s3://b/p", opt)
	if err != nil {
		t.Fatal(err)
	}
	return s, conns
}

// TestDownloadResumes: a download cut off after some pieces resumes in the
// next command, fetching only the pieces it lacks.
func TestDownloadResumes(t *testing.T) {
	store := NewMemStore()
	a, b := newMachine(t, store, ReadWrite), newMachine(t, store, ReadWrite)
	data := bigData(3*DefaultPartSize + 5) // four pieces
	action := actionID("ckpt")
	e := a.build(t, action, map[string][]byte{"w.bin": data})
	a.r.Upload(action, e)
	if _, err := a.r.Wait(); err != nil {
		t.Fatal(err)
	}
	key := blobKey(e.Files[0].Digest)
	var mu sync.Mutex
	gets, failAfter := 0, 2
	store.Fail = func(op, k string) error {
		if op != "get" || k != key {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		gets++
		if failAfter >= 0 && gets > failAfter {
			return errors.New("connection reset by peer")
		}
		return nil
	}
	if _, err := b.r.Fetch(context.Background(), action, "p", "x"); !errors.Is(err, cache.ErrNotFound) {
		t.Fatalf("first Fetch: %v, want a miss (the store failed)", err)
	}
	// The next command on machine B.
	mu.Lock()
	gets, failAfter = 0, -1
	mu.Unlock()
	b2 := New(store, b.c, Options{Timeout: 2 * time.Second})
	defer b2.Close()
	got, err := b2.Fetch(context.Background(), action, "p", "x")
	if err != nil {
		t.Fatalf("second Fetch: %v", err)
	}
	if gets != 2 {
		t.Errorf("the resumed download fetched %d pieces, want 2 (2 of 4 were done)", gets)
	}
	// Which two pieces finished first varies: two full ones, or a full
	// one and the 5-byte tail.
	if st := b2.Stats(); st.Resumed != 2*DefaultPartSize && st.Resumed != DefaultPartSize+5 {
		t.Errorf("resumed %d bytes, want two pieces' worth", st.Resumed)
	}
	if out := readOutput(t, b.c, got); !bytes.Equal(out["w.bin"], data) {
		t.Error("resumed download differs")
	}
	if _, err := os.Stat(b.c.PartialPath(e.Files[0].Digest.String())); err == nil {
		t.Error("partial file left after the download finished")
	}
}

// TestPushStopsAtADeadStore: cache push tries a dead store once, not once
// per entry.
func TestPushStopsAtADeadStore(t *testing.T) {
	store := NewMemStore()
	calls := 0
	store.Fail = func(op, key string) error {
		calls++
		return errors.New("connection refused")
	}
	m := newMachine(t, store, ReadWrite)
	for i := range 3 {
		a := actionID(fmt.Sprint(i))
		if _, err := m.r.Push(context.Background(), a, m.build(t, a, map[string][]byte{"f": {byte(i)}})); err == nil {
			t.Fatalf("Push %d to a dead store succeeded", i)
		}
	}
	if calls != 1 {
		t.Errorf("the dead store was asked %d times, want 1", calls)
	}
}

// TestCloseStopsQueuedUploads: an interrupted build (Close) does not
// upload what is still queued, and Wait says so.
func TestCloseStopsQueuedUploads(t *testing.T) {
	store := NewMemStore()
	release := make(chan struct{})
	store.Fail = func(op, key string) error {
		if op == "stat" {
			<-release
		}
		return nil
	}
	c, err := cache.Open(t.TempDir(), cache.Options{NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := &machine{c: c}
	m.r = New(store, c, Options{Parallel: 1})
	for i := range 3 {
		a := actionID(fmt.Sprint(i))
		m.r.Upload(a, m.build(t, a, map[string][]byte{"f": {byte(i)}}))
	}
	m.r.Close()
	close(release)
	_, err = m.r.Wait()
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("Wait after Close: %v, want uploads not done because interrupted", err)
	}
	for _, k := range store.Keys() {
		if strings.HasPrefix(k, entryPrefix) {
			t.Errorf("entry %s uploaded after Close", k)
		}
	}
}
