package openai

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// attemptResult is what one HTTP attempt gave.
type attemptResult struct {
	resp       *ChatResponse
	err        error         // final or retryable failure
	retry      bool          // err is worth another attempt
	retryAfter time.Duration // the server's Retry-After, if any
	hasAfter   bool
}

// ask sends body until an attempt succeeds, fails for good, or the retries
// run out.
func (c *Client) ask(ctx context.Context, item string, body []byte, n int) (*ChatResponse, error) {
	tries := c.cfg.MaxRetries + 1
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			c.retries.Add(1)
		}
		res := c.attempt(ctx, body, n)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if res.err == nil {
			return res.resp, nil
		}
		if !res.retry {
			return nil, fmt.Errorf("model %s at %s: %w", c.cfg.Name, redactURL(c.endpoint), res.err)
		}
		if attempt+1 >= tries {
			return nil, fmt.Errorf("model %s at %s: giving up after %s: %w; check the server, or raise max_retries or timeout", c.cfg.Name, redactURL(c.endpoint), plural(tries, "attempt"), res.err)
		}
		wait := c.backoff(attempt)
		if res.hasAfter {
			wait = res.retryAfter
		}
		c.logf("openai: item %s: attempt %d of %d failed (%v); retrying in %s", item, attempt+1, tries, res.err, wait.Round(time.Millisecond))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// attempt makes one HTTP request while holding a concurrency slot.
func (c *Client) attempt(ctx context.Context, body []byte, n int) attemptResult {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return attemptResult{err: ctx.Err()}
	}
	defer func() { <-c.sem }()
	c.requests.Add(1)

	actx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(actx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return attemptResult{err: fmt.Errorf("building the request: %w", err)}
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	if c.key != "" {
		hreq.Header.Set("Authorization", "Bearer "+c.key)
	}
	resp, err := c.http.Do(hreq)
	if err != nil {
		return c.transportFailure(actx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return c.transportFailure(actx, err)
	}
	if len(data) > maxBody {
		return attemptResult{err: fmt.Errorf("answer is larger than %d MiB; lower max_tokens or top_logprobs", maxBody>>20)}
	}
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		r, err := decodeResponse(data, n)
		return attemptResult{resp: r, err: err}
	case code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500:
		d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
		return attemptResult{
			err:        fmt.Errorf("server answered %s: %s", resp.Status, snippet(data)),
			retry:      true,
			retryAfter: d,
			hasAfter:   ok,
		}
	case code == http.StatusBadRequest || code == http.StatusUnprocessableEntity:
		return attemptResult{err: rejectedError{fmt.Errorf("server answered %s: %s%s", resp.Status, snippet(data), statusHint(code))}}
	default:
		return attemptResult{err: fmt.Errorf("server answered %s: %s%s", resp.Status, snippet(data), statusHint(code))}
	}
}

// ErrRejected is what errors.Is finds in the error of a request the server
// rejected as invalid (400 or 422): a field it does not take, say.
var ErrRejected = errors.New("request rejected by the server")

// rejectedError marks a 400 or 422 answer as ErrRejected.
type rejectedError struct{ error }

func (e rejectedError) Is(target error) bool { return target == ErrRejected }
func (e rejectedError) Unwrap() error        { return e.error }

// transportFailure classifies an error from sending or reading: a timeout
// of the attempt or a dropped connection is worth a retry.
func (c *Client) transportFailure(actx context.Context, err error) attemptResult {
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return attemptResult{err: fmt.Errorf("no answer within the timeout of %s", c.cfg.Timeout), retry: true}
	}
	var uerr *url.Error
	if errors.As(err, &uerr) {
		// url.Error repeats the URL; the endpoint is named once by ask.
		err = uerr.Err
	}
	return attemptResult{err: fmt.Errorf("connection failed: %w", err), retry: true}
}

// statusHint says what to do about a final HTTP status.
func statusHint(code int) string {
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden:
		return "; check the API key in the variable named by api_key_env"
	case http.StatusNotFound:
		return "; check the endpoint (it usually ends in /v1) and the model name"
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return "; the server rejected the request: check the model name and the sampling settings"
	}
	return ""
}

// backoff returns the wait before retry number attempt+1: a random
// duration between half and all of min(base·2^attempt, max), so that many
// clients rejected together do not come back together.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.backoffMax
	if attempt < 30 {
		if e := c.backoffBase << attempt; e > 0 && e < d {
			d = e
		}
	}
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP date
// (RFC 9110 section 10.2.3). A date in the past means no wait. Values are
// capped at maxRetryAfter.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	} else {
		return 0, false
	}
	return min(max(d, 0), maxRetryAfter), true
}

// plural returns "1 attempt" or "n attempts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
