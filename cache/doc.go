// Package cache holds refeval's content-addressed store, modelled on Go's
// build cache (cmd/go/internal/cache): an ActionID (the hash of a complete
// description of a stage run, built with Hash) maps to an index Entry whose
// OutputID is the digest of the output manifest; output folders are stored
// once per OutputID.
//
// On disk, a cache directory holds:
//
//	README        what the directory is, for a person who finds it
//	lock          flock-ed by the process that has the cache open; holds its pid
//	index/        a Badger database: ActionID → Entry, (Entry.Scope, Entry.Name)
//	              → last ActionID, the stat cache (path → stat + digest),
//	              per-item memos, build records for GC, and the stat of
//	              each output file at commit (outstat.go)
//	out/<hex>/    an output folder, named by its OutputID; read-only files
//	tmp/          output folders of running stages (NewOutputDir), renamed
//	              into out/ by CommitOutput; leftovers are removed by GC
//	log/<hex>.log the log of the stage run with that ActionID
//	entry/<hex>   a copy of the index entry of that ActionID (record.go),
//	              from which a damaged index is rebuilt (rebuild.go)
//	jobs/*        a folder per stage running on another machine (JobsDir),
//	              removed when it ends; leftovers are removed by GC
//
// Outputs are committed in order: every file is hashed, made read-only and
// fsynced, folders are fsynced, the temp folder is renamed into out/ and
// out/ is fsynced; only then does Put write the index entry, so an entry
// never names an output that is not durable. Only one process may use a
// cache directory at a time (Badger's index cannot be shared,
// dgraph-io/badger#1823); Open waits for the lock or, with NoWait, fails with
// ErrLocked.
//
// Get checks an output by stat: a file whose size, mtime, ctime, inode or
// device differs from what CommitOutput recorded is rehashed, and a
// content mismatch is ErrCorrupt, so any damage is a miss for the build that
// meets it; an untouched output costs one stat per file.
//
// Inputs are hashed through a stat cache (DigestPath): a file whose path,
// size, mtime, ctime, inode and device are unchanged is not read again.
// Content digests are BLAKE3 trees hashed on several cores (digest.go).
//
// A damaged index is never a panic nor a wrong hit: Open checks it before
// Badger opens it and rebuilds it from the entry records if needed, reads
// that fail later are misses, and every call into Badger recovers its
// panics (damage.go, checkindex.go). Open and Put first check the free
// space of the cache's file system and stop with a DiskFullError (space.go).
//
// The package knows nothing about pipelines, HCL or models: the engine
// decides what goes into an ActionID, what an Entry's Name and Scope are
// and what its opaque Meta holds; cmd/refeval formats List, GC and Verify
// results. Entries written before Meta existed are read into the new
// layout (record_v1.go). Outputs downloaded from a team cache (package cache/remote) are
// committed with CommitVerified, which trusts digests the caller checked
// while streaming (leaves.go). docs/cache.md records the design decisions
// and measurements.
package cache
