package openai

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// Defaults applied by New to a zero field of Config.
const (
	// DefaultMaxConcurrency bounds requests in flight when the model block
	// sets no max_concurrency. 16 keeps a single vLLM replica's batch busy
	// without tripping the per-minute request limits of hosted APIs.
	DefaultMaxConcurrency = 16
	// DefaultTimeout bounds one HTTP attempt. A judge answer takes seconds,
	// but a sampling request with n = 8 and max_tokens = 2048 on a loaded
	// server can take minutes.
	DefaultTimeout = 10 * time.Minute
	// DefaultMaxRetries is the number of retries after the first attempt.
	DefaultMaxRetries = 5
	// maxRetryAfter caps a server's Retry-After so that a bogus value (a
	// date years ahead) cannot park a stage forever; cancellation still
	// interrupts the wait.
	maxRetryAfter = 10 * time.Minute
	// maxBody caps an answer's size: a chat completion with log-probs for a
	// few thousand tokens is a few MiB.
	maxBody = 64 << 20
)

// Config is what a model block with an endpoint says.
type Config struct {
	Endpoint       string        // base URL of the OpenAI-compatible API, such as http://vllm-host:8000/v1
	Name           string        // model name sent as "model" in each request; part of every memo key
	APIKeyEnv      string        // name of the environment variable holding the API key; empty: send no key
	MaxConcurrency int           // requests in flight at most; 0: DefaultMaxConcurrency
	Timeout        time.Duration // limit on one HTTP attempt; 0: DefaultTimeout
	MaxRetries     int           // retries after the first attempt; 0: DefaultMaxRetries, negative: none
}

// An Option changes how New builds a Client.
type Option func(*Client)

// WithMemo makes the client memoize every successful answer in m and look
// there before asking the server. engine.Memo satisfies Memo.
func WithMemo(m Memo) Option { return func(c *Client) { c.memo = m } }

// WithHTTPClient replaces the HTTP client (default: a fresh http.Client
// whose transport keeps MaxConcurrency idle connections per host).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithBackoff sets the first retry's delay and the cap on later ones
// (default 1s and 60s). Each wait is drawn between half and all of
// min(base·2^attempt, max).
func WithBackoff(base, max time.Duration) Option {
	return func(c *Client) { c.backoffBase, c.backoffMax = base, max }
}

// WithLog sends one line per retry to w (the stage's log). Lines name the
// item and the cause, never the key.
func WithLog(w io.Writer) Option { return func(c *Client) { c.log = w } }

// WithLookupEnv replaces os.LookupEnv for reading the API key (tests, or a
// caller that keeps secrets elsewhere).
func WithLookupEnv(f func(string) (string, bool)) Option {
	return func(c *Client) { c.lookupEnv = f }
}

// New checks cfg, reads the API key from the environment variable it names,
// and returns a client ready for concurrent use.
func New(cfg Config, opts ...Option) (*Client, error) {
	c := &Client{
		cfg:         cfg,
		backoffBase: time.Second,
		backoffMax:  time.Minute,
		lookupEnv:   os.LookupEnv,
	}
	for _, o := range opts {
		o(c)
	}
	if cfg.Name == "" {
		return nil, errors.New("openai: model name is empty; set name to the model the server serves (its /v1/models lists them)")
	}
	u, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	c.endpoint = u
	c.url = strings.TrimRight(u.String(), "/") + "/chat/completions"
	if cfg.APIKeyEnv != "" {
		key, ok := c.lookupEnv(cfg.APIKeyEnv)
		if !ok || key == "" {
			return nil, fmt.Errorf("openai: model %s: environment variable %s is not set; export the API key in %s, or remove api_key_env for a server that needs no key", cfg.Name, cfg.APIKeyEnv, cfg.APIKeyEnv)
		}
		c.key = key
	}
	if cfg.MaxConcurrency < 0 {
		return nil, fmt.Errorf("openai: model %s: max_concurrency is %d; it must be positive", cfg.Name, cfg.MaxConcurrency)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("openai: model %s: timeout is %s; it must be positive", cfg.Name, cfg.Timeout)
	}
	if c.cfg.MaxConcurrency == 0 {
		c.cfg.MaxConcurrency = DefaultMaxConcurrency
	}
	if c.cfg.Timeout == 0 {
		c.cfg.Timeout = DefaultTimeout
	}
	switch {
	case c.cfg.MaxRetries == 0:
		c.cfg.MaxRetries = DefaultMaxRetries
	case c.cfg.MaxRetries < 0:
		c.cfg.MaxRetries = 0
	}
	if c.http == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = c.cfg.MaxConcurrency
		c.http = &http.Client{Transport: t}
	}
	c.sem = make(chan struct{}, c.cfg.MaxConcurrency)
	return c, nil
}

// parseEndpoint checks that s is an absolute http or https URL. Its errors
// show the URL with any password replaced.
func parseEndpoint(s string) (*url.URL, error) {
	if s == "" {
		return nil, errors.New("openai: endpoint is empty; set it to the server's API base, such as http://vllm-host:8000/v1")
	}
	u, err := url.Parse(s)
	if err != nil {
		// url.Parse's error quotes the input, which may hold credentials.
		return nil, errors.New("openai: endpoint is not a valid URL; write it as http://host:port/v1")
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("openai: endpoint %s is not an http or https URL; write it as http://host:port/v1", redactURL(u))
	}
	if u.RawQuery != "" || u.Fragment != "" {
		// The query may hold a key (?api-key=…): do not print it.
		return nil, fmt.Errorf("openai: endpoint has a query or fragment; give the API base only, such as %s://%s%s, and put the key in the variable named by api_key_env", u.Scheme, u.Host, u.Path)
	}
	return u, nil
}
