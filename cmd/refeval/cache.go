package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/refeval/refeval/cache"
)

var cmdCache = &Command{
	UsageLine: "cache [--cache DIR] [--no-wait] [--remote URL] ls [--remote] [--json] | gc [--remote] [--keep-builds N] [--keep-newer DUR] [--dry-run] | verify [--repair] [FILE] | push [FILE [TARGET...]] | pull FILE [TARGET...]",
	Short:     "list, trim or verify the cache folder",
	Long: `
Cache works on a cache folder: --cache DIR, else $REFEVAL_CACHE, else the
.refeval folder next to FILE when one is given, else ./.refeval.

	refeval cache ls       lists the entries: stage, action, size, last use
	refeval cache gc       removes what no recent build used: it keeps the
	                       entries of the last --keep-builds builds of each
	                       pipeline and those used within --keep-newer
	refeval cache verify   rehashes every output file and names the corrupt
	                       outputs and the stages that made them, and counts the
	                       index entries that cannot be read; exit 1 if any.
	                       With --repair it also drops the corrupt outputs and
	                       their entries, puts unreadable entries back from
	                       their records in entry/ or drops them, so the next
	                       build runs those stages again (a build reruns them
	                       anyway), and exits 0

A damaged index (a truncated or overwritten file in index/) is rebuilt from
the entry records by any command that meets it, which says so once.

With a remote (--remote s3://BUCKET/PREFIX or $REFEVAL_REMOTE; the endpoint
of a non-AWS store in $REFEVAL_REMOTE_ENDPOINT):

	refeval cache push [FILE [TARGET...]]
	                       uploads the last build of FILE's stages (or TARGETs),
	                       or every local entry when no FILE is given
	refeval cache pull FILE [TARGET...]
	                       downloads what a build of FILE needs and the local
	                       cache lacks, running nothing
	refeval cache ls --remote
	                       lists the remote's entries
	refeval cache gc --remote
	                       removes from the remote what no build of the team
	                       used within --keep-newer (entries, their blobs, memos)
`,
}

var (
	cacheFlags     commonFlags
	cacheJSON      bool
	cacheKeep      int
	cacheKeepNewer time.Duration
	cacheDryRun    bool
	cacheRepair    bool
)

func init() {
	cmdCache.Run = runCache
	cmdCache.Flag.StringVar(&cacheFlags.cacheDir, "cache", "", "cache folder")
	cmdCache.Flag.BoolVar(&cacheFlags.noWait, "no-wait", false, "fail at once if another refeval uses the cache folder")
	cmdCache.Flag.BoolVar(&cacheJSON, "json", false, "ls: print JSON")
	cmdCache.Flag.IntVar(&cacheKeep, "keep-builds", cache.DefaultKeepBuilds, "gc: keep what the last N builds of each pipeline used")
	cmdCache.Flag.DurationVar(&cacheKeepNewer, "keep-newer", cache.DefaultOlderThan, "gc: keep entries used within this long (0: none by age)")
	cmdCache.Flag.BoolVar(&cacheDryRun, "dry-run", false, "gc: say what would be removed, remove nothing")
	cmdCache.Flag.BoolVar(&cacheRepair, "repair", false, "verify: drop the corrupt outputs and their entries")
	cmdCache.Flag.Var(&cacheFlags.vars, "var", "push, pull: set a pipeline variable: name=value (repeatable)")
	cmdCache.Flag.Var(&cacheRemote, "remote", "ls, gc: work on the remote cache; --remote=URL also names it (default $REFEVAL_REMOTE)")
	cmdCache.Flag.Var(&cacheRemoteMode, "remote-mode", "read, write or readwrite (default $REFEVAL_REMOTE_MODE, else readwrite)")
	register(cmdCache)
}

func runCache(ctx context.Context, cmd *Command, args []string) error {
	args, err := takeRemoteURLs(args)
	if err != nil {
		return err
	}
	if len(args) < 1 {
		return usageErrorf("want ls, gc, verify, push or pull")
	}
	sub := args[0]
	onRemote := cacheRemote.on
	switch sub {
	case "ls", "gc", "verify":
		if len(args) > 2 {
			return usageErrorf("want ls, gc or verify, and at most one pipeline FILE")
		}
	case "push", "pull":
	default:
		return usageErrorf("unknown cache command %q; want ls, gc, verify, push or pull", args[0])
	}
	pipelineDir := "."
	if len(args) >= 2 {
		pipelineDir = filepath.Dir(args[1])
	}
	dir := cacheDirNextTo(&cacheFlags, pipelineDir)
	switch {
	case sub == "ls" && onRemote:
		return cacheLsRemote(ctx, nil) // the local cache is not needed
	case sub == "gc" && onRemote:
		return cacheGCRemote(ctx, nil)
	case sub == "pull":
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return err
		}
	}
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("no cache folder %s (%v): build a pipeline first, give its FILE, or pass --cache DIR", dir, err)
	}
	c, err := openCache(ctx, &cacheFlags, dir)
	if err != nil {
		return err
	}
	defer c.Close()
	switch {
	case sub == "push":
		return cachePush(ctx, c, args[1:])
	case sub == "pull":
		return cachePull(ctx, c, args[1:])
	case sub == "ls":
		return cacheLs(c)
	case sub == "gc":
		rep, err := c.GC(cache.GCOptions{KeepBuilds: cacheKeep, OlderThan: cacheKeepNewer, DryRun: cacheDryRun})
		if err != nil {
			return err
		}
		verb := "removed"
		if rep.DryRun {
			verb = "would remove"
		}
		fmt.Printf("%s %d entries, %d outputs, %d logs, %d temp folders, %d build records (%s); kept %d entries\n",
			verb, rep.Entries, rep.Outputs, rep.Logs, rep.Temps, rep.Builds, size(rep.Bytes), rep.Kept)
		if rep.Unreadable > 0 {
			fmt.Printf("(%d of the entries %s could not be read)\n", rep.Unreadable, verb)
		}
		return nil
	default:
		rep, err := c.Verify()
		if err != nil {
			return err
		}
		for _, co := range rep.Corrupt {
			fmt.Printf("corrupt output %s (made by %v): %v\n", co.OutputID, co.Names, co.Err)
		}
		for _, a := range rep.Unreadable {
			fmt.Printf("unreadable index entry %s\n", a)
		}
		fmt.Printf("verified %d outputs (%s): %d corrupt", rep.Outputs, size(rep.Bytes), len(rep.Corrupt))
		if len(rep.Unreadable) > 0 {
			fmt.Printf("; %d unreadable index entries", len(rep.Unreadable))
		}
		fmt.Println()
		if len(rep.Corrupt) == 0 && len(rep.Unreadable) == 0 {
			return nil
		}
		if cacheRepair {
			if err := c.Repair(rep); err != nil {
				return err
			}
			fmt.Printf("dropped %d corrupt outputs and repaired %d unreadable entries; the next build runs their stages again\n", len(rep.Corrupt), len(rep.Unreadable))
			return nil
		}
		return fmt.Errorf("%d corrupt outputs and %d unreadable index entries in %s; the next build runs their stages again, or run 'refeval cache verify --repair' to drop them now",
			len(rep.Corrupt), len(rep.Unreadable), c.Dir())
	}
}

func cacheLs(c *cache.Cache) error {
	items, bad, err := c.ListAll()
	if err != nil {
		return err
	}
	if len(bad) > 0 {
		fmt.Fprintf(os.Stderr, "refeval: %d index entries cannot be read and are not listed; 'refeval cache verify --repair' repairs or drops them\n", len(bad))
	}
	if cacheJSON {
		type row struct {
			Stage    string    `json:"stage"`
			Pipeline string    `json:"pipeline"`
			Action   string    `json:"action"`
			Output   string    `json:"output"`
			Size     int64     `json:"size"`
			LastUsed time.Time `json:"last_used"`
			Duration string    `json:"duration"`
		}
		rows := []row{}
		for _, it := range items {
			rows = append(rows, row{it.Entry.Name, it.Entry.Scope, it.Action.String(), it.Entry.OutputID.String(), it.Size, it.Entry.LastUsed, it.Entry.Duration.String()})
		}
		return printJSON(rows)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "STAGE\tACTION\tSIZE\tLAST USED\tRAN FOR\tPIPELINE")
	for _, it := range items {
		e := it.Entry
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Name, it.Action.String()[:12], size(it.Size),
			e.LastUsed.Local().Format("2006-01-02 15:04"), e.Duration.Round(time.Millisecond), e.Scope)
	}
	return tw.Flush()
}

func size(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1fGB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1fMB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1fkB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}
