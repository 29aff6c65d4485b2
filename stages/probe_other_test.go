//go:build !linux

package stages

import "testing"

// Only Linux has the read-only mount and stage cgroups.
func mountsAllowed(t *testing.T) (allowed, known bool) { return false, true }
func cgroupsAllowed(t *testing.T) bool                 { return false }
