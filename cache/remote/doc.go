// Package remote holds refeval's team cache: a copy of the local cache's
// action entries, output files and item memos in S3-compatible object
// storage (AWS S3, MinIO, SeaweedFS, Ceph RGW, Cloudflare R2, GCS's S3
// interface), shared by every machine that points at the same bucket and
// prefix.
//
// The bucket holds, under the prefix:
//
//	ac/<ActionID hex>     the cache.Entry (JSON): OutputID and manifest
//	blob/<digest hex>     one output file, named by its content digest
//	memo/<ns>/<key>       one item memo (hashed names), its digest first
//
// Blobs are uploaded first and the entry last, so a reader never sees an
// entry whose files are missing; two machines uploading the same action
// write the same bytes. A Remote fetches an entry on a local miss,
// downloads its files in parallel pieces while hashing each piece's leaves
// of the content tree, and commits the output to the local cache only if
// every digest matches (cache.CommitVerified): a damaged blob or entry is a
// miss, reported once. An unreachable remote is reported once and the
// build goes on with the local cache only.
//
// Store is the object store's small interface; S3 implements it with
// aws-sdk-go-v2 (credentials from the standard AWS chain, never logged),
// and MemStore is an in-process store for tests. The engine reaches a
// Remote through engine.Remote; cmd/refeval parses --remote and
// --remote-mode and prints what this package reports. docs/cache.md
// records the design.
package remote
