package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/refeval/refeval/cache"
	"github.com/refeval/refeval/cache/remote"
	"github.com/refeval/refeval/engine"
)

// remoteFlags are --remote and --remote-mode, shared by the commands that
// build and by cache push/pull.
type remoteFlags struct {
	url  remoteURL
	mode remoteMode
}

// remoteURL is an s3://bucket/prefix flag. It is checked after parsing
// (flagChecker): flag.Parse would print a rejected value, password and all.
type remoteURL struct {
	url string
	err error
}

func (u *remoteURL) String() string { return u.url }

func (u *remoteURL) Set(s string) error {
	u.url, u.err = s, nil
	if _, _, err := remote.ParseURL(s); err != nil {
		u.url, u.err = "", err
	}
	return nil
}

// Check implements flagChecker.
func (u *remoteURL) Check() error { return u.err }

// remoteSwitch is the cache command's --remote: alone, it means "the
// remote cache" (cache ls --remote); with a value (--remote=URL) it also
// names it.
type remoteSwitch struct {
	remoteURL
	on bool
}

func (s *remoteSwitch) IsBoolFlag() bool { return true }

func (s *remoteSwitch) Set(v string) error {
	switch v {
	case "true":
		s.on = true
		return nil
	case "false":
		s.on = false
		return nil
	}
	s.on = true
	return s.remoteURL.Set(v)
}

// remoteMode is a read|write|readwrite flag.
type remoteMode string

func (m *remoteMode) String() string { return string(*m) }

func (m *remoteMode) Set(s string) error {
	if _, err := remote.ParseMode(s); err != nil {
		return err
	}
	*m = remoteMode(s)
	return nil
}

func addRemoteFlags(fs *flag.FlagSet, f *remoteFlags) {
	fs.Var(&f.url, "remote", "team cache s3://BUCKET/PREFIX (default $REFEVAL_REMOTE; endpoint $REFEVAL_REMOTE_ENDPOINT)")
	fs.Var(&f.mode, "remote-mode", "read, write or readwrite (default $REFEVAL_REMOTE_MODE, else readwrite)")
}

// remoteTimeout bounds each small request to the remote, so that an
// unreachable store costs one such wait before the build goes on locally
// ($REFEVAL_REMOTE_TIMEOUT, a Go duration).
func remoteTimeout() time.Duration {
	if d, err := time.ParseDuration(os.Getenv("REFEVAL_REMOTE_TIMEOUT")); err == nil && d > 0 {
		return d
	}
	return 10 * time.Second
}

// openRemote opens the team cache for c, or returns nil if none is
// configured. Warnings go to stderr, once each.
func openRemote(ctx context.Context, c *cache.Cache, f *remoteFlags) (*remote.Remote, error) {
	return openRemoteAt(ctx, c, f.url.url, string(f.mode))
}

// openRemoteAt opens the remote at url (else $REFEVAL_REMOTE) with the
// mode (else $REFEVAL_REMOTE_MODE), or returns nil if there is none.
func openRemoteAt(ctx context.Context, c *cache.Cache, url, modeName string) (*remote.Remote, error) {
	if url == "" {
		url = os.Getenv("REFEVAL_REMOTE")
	}
	if url == "" {
		return nil, nil
	}
	if modeName == "" {
		modeName = os.Getenv("REFEVAL_REMOTE_MODE")
	}
	mode, err := remote.ParseMode(modeName)
	if err != nil {
		return nil, err
	}
	store, err := remote.NewS3(ctx, url, remote.S3Options{Endpoint: os.Getenv("REFEVAL_REMOTE_ENDPOINT"), Timeout: remoteTimeout()})
	if err != nil {
		return nil, err
	}
	return remote.New(store, c, remote.Options{
		Mode:    mode,
		Timeout: remoteTimeout(),
		Warn:    func(msg string) { fmt.Fprintf(os.Stderr, "refeval: warning: %s\n", msg) },
	}), nil
}

// engineRemote adapts a remote.Remote to engine.Remote.
type engineRemote struct{ *remote.Remote }

func (r engineRemote) Memo(ns string, local engine.Memo) engine.Memo { return r.Remote.Memo(ns, local) }

// finishUploads waits for the build's uploads, saying so, and reports
// what went up; an interrupt (ctx) cancels them. Failed uploads are a
// warning: the results are in the local cache, and `refeval cache push`
// sends them later.
func finishUploads(ctx context.Context, r *remote.Remote) {
	// Interrupted: stop uploading (cache push sends the rest later).
	stop := context.AfterFunc(ctx, r.Close)
	defer stop()
	if n := r.Pending(); n > 0 && ctx.Err() == nil {
		fmt.Fprintf(os.Stderr, "refeval: waiting for %d uploads to %s\n", n, r)
	}
	st, err := r.Wait()
	r.Close()
	if st.Entries > 0 || st.Memos > 0 {
		fmt.Fprintf(os.Stderr, "refeval: uploaded %d results and %d memos (%s) to %s\n", st.Entries, st.Memos, size(st.Up), r)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "refeval: warning: %v; the results are in the local cache: run 'refeval cache push' to upload them\n", err)
	}
}
