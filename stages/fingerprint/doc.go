// Package fingerprint guards the stage kinds' Version numbers. A kind's
// Version enters every ActionID of the kind, so a change in what a kind
// writes, without a bump, lets a user who upgrades refeval get old results
// as cache hits.
//
// Of computes a Fingerprint of files that ignores what may differ between
// two runs of the same action (timings, float noise within a tolerance).
// The package's test runs every registered kind on a tiny fixture, on the
// CPU, and compares the fingerprints of each fixture's inputs and output
// with those recorded for the kind's current Version in
// testdata/fingerprints.json: a kind whose output changed, from the same
// inputs, while its Version did not, fails the test. How to bump and re-record is in docs/stages.md
// ("Versions and fingerprints").
//
// The package knows nothing about what the kinds compute: the fixtures are
// ordinary stage blocks.
package fingerprint
