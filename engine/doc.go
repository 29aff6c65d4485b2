// Package engine holds refeval's build engine: it loads a pipeline file (HCL)
// into stage instances and the edges between them (load.go, refs.go,
// graph.go), computes each stage's ActionID from readable lines
// (actionid.go), explains what would run and why (plan.go), runs the DAG in
// parallel with device assignment and early cutoff (walk.go), and rebuilds
// on file changes (watch.go).
//
// The engine knows no stage kind: the caller hands it a lookup function
// (stages.Lookup) in LoadOptions, and every kind decodes its own attributes
// through Kind.Decode. Storage is package cache's, and a shared remote cache
// is reached through the Remote interface (remote.go; cache/remote holds the
// S3 one); the command line and its flags are cmd/refeval's.
package engine
