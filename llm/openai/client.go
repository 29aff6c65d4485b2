package openai

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Memo stores answers under keys the client computes. engine.Memo has this
// shape, so a stage passes its RunContext.Memo as is. Entries must be
// durable once Put returns.
type Memo interface {
	Get(key string) (val []byte, ok bool, err error)
	Put(key string, val []byte) error
}

// Client talks to one model on one OpenAI-compatible server. It is safe for
// concurrent use; Chat calls beyond MaxConcurrency wait for a free slot.
type Client struct {
	cfg       Config
	endpoint  *url.URL
	url       string // endpoint + /chat/completions
	key       string // the API key; never printed, logged or hashed
	http      *http.Client
	memo      Memo
	sem       chan struct{}
	log       io.Writer
	logMu     sync.Mutex
	lookupEnv func(string) (string, bool)

	backoffBase, backoffMax time.Duration

	promptTokens, completionTokens atomic.Int64
	requests, retries, memoHits    atomic.Int64
}

// Stats counts what a client did, for the stage's metrics.
type Stats struct {
	PromptTokens     int64 // prompt tokens of the answers the server gave (memo hits excluded)
	CompletionTokens int64 // completion tokens of those answers
	Requests         int64 // HTTP attempts made, retries included
	Retries          int64 // attempts that were retries
	MemoHits         int64 // Chat calls answered from the memo
}

// Usage returns the prompt and completion tokens of every answer this
// client received from the server; answers taken from the memo cost nothing
// and are not counted.
func (c *Client) Usage() (prompt, completion int64) {
	return c.promptTokens.Load(), c.completionTokens.Load()
}

// Stats returns the client's counters.
func (c *Client) Stats() Stats {
	return Stats{
		PromptTokens:     c.promptTokens.Load(),
		CompletionTokens: c.completionTokens.Load(),
		Requests:         c.requests.Load(),
		Retries:          c.retries.Load(),
		MemoHits:         c.memoHits.Load(),
	}
}

// Name returns the model name the client sends.
func (c *Client) Name() string { return c.cfg.Name }

// Config returns the client's configuration with defaults filled in.
func (c *Client) Config() Config { return c.cfg }

// An ItemError is a failure to get an answer for one item. Its message
// names the item, and never holds the API key or the endpoint's password.
type ItemError struct {
	Item string
	Err  error
}

func (e *ItemError) Error() string { return fmt.Sprintf("item %s: %v", e.Item, e.Err) }
func (e *ItemError) Unwrap() error { return e.Err }

// Chat returns the answer to req. It looks in the memo first; otherwise it
// asks the server, retrying on 429, 5xx, timeouts and dropped connections,
// checks that the answer has N well-formed choices, counts its tokens and
// memoizes it before returning. item names the request in errors and log
// lines (a prompt index, a pair); it is not sent and not hashed. Chat
// returns promptly with ctx's error when ctx is cancelled.
func (c *Client) Chat(ctx context.Context, item string, req ChatRequest) (*ChatResponse, error) {
	r, err := c.chat(ctx, item, &req)
	if err != nil {
		return nil, &ItemError{Item: item, Err: c.redactErr(err)}
	}
	return r, nil
}

func (c *Client) chat(ctx context.Context, item string, req *ChatRequest) (*ChatResponse, error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	body, err := req.body(c.cfg.Name)
	if err != nil {
		return nil, err
	}
	key := memoKey(c.cfg.Name, body)
	n := req.choices()
	if c.memo != nil {
		val, ok, err := c.memo.Get(key)
		if err != nil {
			return nil, fmt.Errorf("reading the memo: %w", err)
		}
		if ok {
			if r, err := decodeResponse(val, n); err == nil {
				c.memoHits.Add(1)
				return r, nil
			}
			c.logf("openai: item %s: memoized answer is unreadable; asking the server again", item)
		}
	}
	r, err := c.ask(ctx, item, body, n)
	if err != nil {
		return nil, err
	}
	c.promptTokens.Add(r.Usage.PromptTokens)
	c.completionTokens.Add(r.Usage.CompletionTokens)
	if c.memo != nil {
		val, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("encoding the answer for the memo: %w", err)
		}
		if err := c.memo.Put(key, val); err != nil {
			return nil, fmt.Errorf("writing the memo: %w", err)
		}
	}
	return r, nil
}

func (c *Client) logf(format string, args ...any) {
	if c.log == nil {
		return
	}
	c.logMu.Lock()
	defer c.logMu.Unlock()
	fmt.Fprintln(c.log, c.redact(fmt.Sprintf(format, args...)))
}

// String describes the client without its key, so that printing a Client
// (or a struct holding one) with %v cannot leak the key.
func (c *Client) String() string {
	return fmt.Sprintf("openai.Client{model %s at %s}", c.cfg.Name, redactURL(c.endpoint))
}

// GoString is String for %#v.
func (c *Client) GoString() string { return c.String() }
