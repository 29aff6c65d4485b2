// Package stages holds refeval's built-in stage kinds, one file each
// (exec.go, sample.go, score.go, …), and the registry they add themselves to.
//
// A kind decodes its own attributes from a stage block and computes its
// outputs into the folder the engine gives it. It knows nothing of the DAG,
// of caching or of other stages: references, action IDs, parallelism and
// commit are the engine's. Models come from package llm.
package stages
