package llm

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// maxPasses bounds the forward passes one call runs at once on the pure-Go
// backend: Model.passes is min(GOMAXPROCS, maxPasses) there and 1 on XLA,
// which spreads one pass over its device. The pure-Go backend runs every
// op but the matrix products on the goroutine that called it, so one pass
// keeps one core busy; each pass holds up to activationBudget of
// activations, so four hold up to 2 GiB. A pass's rows and results are
// the same whatever runs beside it, so the number changes speed and
// memory, never a result (TestPassesDoNotChangeResults).
const maxPasses = 4

// passRows caps the rows of one pass over n items so that they spread over
// the passes that run at once: ceil(n / passes).
func (m *Model) passRows(n int) int {
	return max(1, (n+m.passes-1)/m.passes)
}

// eachPass calls pass(k) for every k in [0, n), m.passes at a time, and
// returns the first error; after one, or once ctx is done, it starts no
// more passes. Each pass writes only its own rows of the result, so the
// result does not depend on how the passes interleave.
func (m *Model) eachPass(ctx context.Context, n int, pass func(k int) error) error {
	if n == 1 || m.passes == 1 {
		return inOrder(ctx, n, pass)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.passes)
	for k := range n {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error { return pass(k) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// inOrder calls pass(k) for every k in [0, n) in order on the caller's
// goroutine, stopping at the first error or once ctx is done.
func inOrder(ctx context.Context, n int, pass func(k int) error) error {
	for k := range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := pass(k); err != nil {
			return err
		}
	}
	return nil
}
