package openai

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
)

// ChatAll asks reqs[i] for items[i], with at most MaxConcurrency requests
// in flight, and returns the answers in order. After the first failure it
// starts no new item but lets those in flight finish, so that they are
// memoized, and then returns every failure joined (each an *ItemError),
// with the answers it got; missing answers are nil. progress, if not nil,
// is called after each answered item with the number answered so far; calls
// may come from several goroutines, one at a time.
func (c *Client) ChatAll(ctx context.Context, items []string, reqs []ChatRequest, progress func(done int)) ([]*ChatResponse, error) {
	if len(items) != len(reqs) {
		return nil, fmt.Errorf("openai: %d item names for %d requests", len(items), len(reqs))
	}
	out := make([]*ChatResponse, len(reqs))
	var (
		failed   atomic.Bool
		mu       sync.Mutex
		errs     []error
		answered int
		g        errgroup.Group
	)
	g.SetLimit(max(1, c.cfg.MaxConcurrency))
	for i := range reqs {
		if failed.Load() || ctx.Err() != nil {
			break // the requests in flight finish; no new one starts
		}
		g.Go(func() error {
			if failed.Load() || ctx.Err() != nil {
				return nil
			}
			resp, err := c.Chat(ctx, items[i], reqs[i])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failed.Store(true)
				errs = append(errs, err)
				return nil // every failure is reported, not the first
			}
			out[i] = resp
			answered++
			if progress != nil {
				progress(answered)
			}
			return nil
		})
	}
	g.Wait()
	if len(errs) == 0 && ctx.Err() != nil {
		errs = append(errs, ctx.Err())
	}
	return out, errors.Join(errs...)
}
