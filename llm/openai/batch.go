package openai

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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
		next     atomic.Int64
		failed   atomic.Bool
		mu       sync.Mutex
		errs     []error
		answered int
		wg       sync.WaitGroup
	)
	workers := min(c.cfg.MaxConcurrency, len(reqs))
	for range workers {
		wg.Go(func() {
			for !failed.Load() && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				resp, err := c.Chat(ctx, items[i], reqs[i])
				mu.Lock()
				if err != nil {
					failed.Store(true)
					errs = append(errs, err)
				} else {
					out[i] = resp
					answered++
					if progress != nil {
						progress(answered)
					}
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) == 0 && ctx.Err() != nil {
		errs = append(errs, ctx.Err())
	}
	return out, errors.Join(errs...)
}
