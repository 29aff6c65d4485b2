package engine

import (
	"errors"

	"github.com/refeval/refeval/cache"
)

// A lookup is what the local cache says about an action, for build and
// plan alike.
type lookup int

const (
	lookupMiss    lookup = iota // never run (or trimmed)
	lookupHit                   // an intact entry and output
	lookupDamaged               // recorded, but the output is damaged: run it again
)

// lookupAction asks the local cache for id's entry. A damaged entry is
// lookupDamaged with the damage as why; any other failure is err, the
// caller's to fail with.
func lookupAction(c *cache.Cache, id cache.ID) (e *cache.Entry, l lookup, why, err error) {
	e, err = c.Get(id)
	switch {
	case err == nil:
		return e, lookupHit, nil, nil
	case errors.Is(err, cache.ErrCorrupt):
		return nil, lookupDamaged, err, nil
	case errors.Is(err, cache.ErrNotFound):
		return nil, lookupMiss, nil, nil
	}
	return nil, lookupMiss, nil, err
}
