package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/refeval/refeval/cache"
	"github.com/refeval/refeval/cache/remote"
	"github.com/refeval/refeval/engine"
)

// The cache command's --remote (a switch, or the URL) and --remote-mode.
var (
	cacheRemote     remoteSwitch
	cacheRemoteMode remoteMode
)

// takeRemoteURLs takes s3:// arguments out of the positional ones: with
// `cache ls --remote s3://b/p` the flag package leaves the URL there,
// since --remote alone is a switch.
func takeRemoteURLs(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if strings.HasPrefix(a, "s3://") {
			cacheRemote.Set(a)
			if err := cacheRemote.Check(); err != nil {
				return nil, usageErrorf("--remote: %v", err)
			}
			continue
		}
		out = append(out, a)
	}
	return out, nil
}

// needRemote opens the configured remote or explains how to configure one.
func needRemote(ctx context.Context, c *cache.Cache) (*remote.Remote, error) {
	r, err := openRemoteAt(ctx, c, cacheRemote.url, string(cacheRemoteMode))
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, fmt.Errorf("no remote cache: pass --remote s3://BUCKET/PREFIX or set REFEVAL_REMOTE (and REFEVAL_REMOTE_ENDPOINT for a non-AWS store)")
	}
	return r, nil
}

// cachePush uploads the entries of a pipeline's selected stages (their
// last builds), or every local entry when no FILE is given.
func cachePush(ctx context.Context, c *cache.Cache, args []string) error {
	r, err := needRemote(ctx, c)
	if err != nil {
		return err
	}
	defer r.Close()
	type job struct {
		action cache.ID
		e      *cache.Entry
	}
	var jobs []job
	if len(args) == 0 {
		items, err := c.List()
		if err != nil {
			return err
		}
		for _, it := range items {
			jobs = append(jobs, job{it.Action, it.Entry})
		}
	} else {
		p, err := loadPipeline(ctx, args[0], cacheFlags.vars.values())
		if err != nil {
			return err
		}
		sel, err := p.Select(args[1:])
		if err != nil {
			return err
		}
		for _, in := range sel {
			a, e, err := c.LastFor(p.File, in.Addr)
			if errors.Is(err, cache.ErrNotFound) {
				fmt.Fprintf(os.Stderr, "refeval: %s has not been built here; skipping it\n", in.Addr)
				continue
			}
			if err != nil {
				return err
			}
			jobs = append(jobs, job{a, e})
		}
	}
	var (
		mu             sync.Mutex
		pushed, had    int
		errs           []error
		wg             sync.WaitGroup
		sem            = make(chan struct{}, 8)
		start          = time.Now()
		before         = r.Stats().Up
		damagedOutputs int
	)
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := c.Get(j.action); err != nil {
				mu.Lock()
				if errors.Is(err, cache.ErrCorrupt) {
					damagedOutputs++
					fmt.Fprintf(os.Stderr, "refeval: %s: local output is damaged (%v); not pushing it\n", j.e.Name, err)
				} else {
					errs = append(errs, err)
				}
				mu.Unlock()
				return
			}
			up, err := r.Push(ctx, j.action, j.e)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("%s: %w", j.e.Name, err))
			case up:
				pushed++
				fmt.Fprintf(os.Stderr, "pushed %s\n", j.e.Name)
			default:
				had++
			}
		}()
	}
	wg.Wait()
	st := r.Stats()
	fmt.Printf("pushed %d entries (%s in %d files, %s), %d already in %s\n", pushed, size(st.Up-before), st.Blobs, time.Since(start).Round(time.Millisecond), had, r)
	if len(errs) > 0 {
		return fmt.Errorf("pushing to %s: %d of %d entries not pushed; the first error: %w", r, len(errs), len(jobs), errs[0])
	}
	if damagedOutputs > 0 {
		return fmt.Errorf("%d local outputs are damaged; run 'refeval cache verify --repair' and build again", damagedOutputs)
	}
	return nil
}

// cachePull downloads what a pipeline's selected stages need from the
// remote, running nothing: a build that only looks things up.
func cachePull(ctx context.Context, c *cache.Cache, args []string) error {
	if len(args) == 0 {
		return usageErrorf("cache pull needs the pipeline FILE whose stages to pull")
	}
	r, err := needRemote(ctx, c)
	if err != nil {
		return err
	}
	defer r.Close()
	if r.Mode()&remote.Read == 0 {
		return fmt.Errorf("remote %s is write-only (--remote-mode write); pull needs read", r)
	}
	p, err := loadPipeline(ctx, args[0], cacheFlags.vars.values())
	if err != nil {
		return err
	}
	sel, err := p.Select(args[1:])
	if err != nil {
		return err
	}
	rep := engine.Build(ctx, []engine.Selection{{Pipeline: p, Stages: sel}}, engine.BuildOptions{
		Cache: c, KeepGoing: true, NoRun: true, Remote: engineRemote{r}, Console: os.Stderr,
		Debug: engine.ParseDebug(os.Getenv("REFEVAL_DEBUG")),
	})
	r.Wait() // entry touches
	n := rep.Counts()
	st := r.Stats()
	fmt.Fprintf(os.Stderr, "refeval: pulled %d (%s), %d already here, %d in neither cache\n", n[engine.StatusRemote], size(st.Down), n[engine.StatusCached], n[engine.StatusSkipped])
	if cacheJSON {
		out, err := json.Marshal(rep.Summary())
		if err != nil {
			return err
		}
		fmt.Printf("%s\n", out)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted")
	}
	if r.Down() {
		return fmt.Errorf("remote %s is unreachable", r)
	}
	return nil
}

// cacheLsRemote lists the remote's entries.
func cacheLsRemote(ctx context.Context, c *cache.Cache) error {
	r, err := needRemote(ctx, c)
	if err != nil {
		return err
	}
	defer r.Close()
	items, err := r.List(ctx)
	if err != nil {
		return fmt.Errorf("listing %s: %w", r, err)
	}
	if cacheJSON {
		type row struct {
			Stage    string    `json:"stage"`
			Action   string    `json:"action"`
			Output   string    `json:"output"`
			Size     int64     `json:"size"`
			Modified time.Time `json:"modified"`
			Damaged  bool      `json:"damaged,omitempty"`
		}
		rows := []row{}
		for _, it := range items {
			rw := row{Action: it.Action.String(), Size: it.Size, Modified: it.Modified, Damaged: it.Entry == nil}
			if it.Entry != nil {
				rw.Stage, rw.Output = it.Entry.Name, it.Entry.OutputID.String()
			}
			rows = append(rows, rw)
		}
		return printJSON(rows)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tACTION\tSIZE\tUSED")
	for _, it := range items {
		stage := "(damaged entry)"
		if it.Entry != nil {
			stage = it.Entry.Name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", stage, it.Action.String()[:12], size(it.Size), it.Modified.Local().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

// cacheGCRemote removes from the remote what no one used within
// --keep-newer.
func cacheGCRemote(ctx context.Context, c *cache.Cache) error {
	r, err := needRemote(ctx, c)
	if err != nil {
		return err
	}
	defer r.Close()
	if r.Mode()&remote.Write == 0 && !cacheDryRun {
		return fmt.Errorf("remote %s is read-only (--remote-mode read); gc needs write", r)
	}
	rep, err := r.GC(ctx, cacheKeepNewer, cacheDryRun)
	if err != nil {
		return fmt.Errorf("gc of %s: %w", r, err)
	}
	verb := "removed"
	if rep.DryRun {
		verb = "would remove"
	}
	fmt.Printf("%s %d entries, %d blobs, %d memos (%s), %d unfinished uploads from %s; kept %d entries\n",
		verb, rep.Entries, rep.Blobs, rep.Memos, size(rep.Bytes), rep.Uploads, r, rep.Kept)
	return nil
}
