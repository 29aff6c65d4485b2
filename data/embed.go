package data

import "embed"

// Files holds the demo files by name, for pipelines that run on the
// embedded demo without a checkout.
//
//go:embed train.prompts.jsonl train.references.jsonl test.prompts.jsonl test.references.jsonl corpus.txt
var Files embed.FS
