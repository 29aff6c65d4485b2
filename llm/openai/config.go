package openai

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
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
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	u, _ := parseEndpoint(cfg.Endpoint)
	c.endpoint = u
	c.url = strings.TrimRight(u.String(), "/") + "/chat/completions"
	if cfg.APIKeyEnv != "" {
		key, ok := c.lookupEnv(cfg.APIKeyEnv)
		if !ok || key == "" {
			return nil, fmt.Errorf("openai: model %s: environment variable %s is not set; export the API key in %s, or remove api_key_env for a server that needs no key", cfg.Name, cfg.APIKeyEnv, cfg.APIKeyEnv)
		}
		c.key = key
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

// A ConfigError is one field of a Config that Validate rejects. Field is
// the model block attribute that sets it, so that a caller decoding the
// block can point at it; Detail is a sentence that never quotes a secret.
type ConfigError struct {
	Field   string // endpoint, name, api_key_env, max_concurrency or timeout
	Summary string // a title, such as "Invalid endpoint"
	Detail  string
}

func (e *ConfigError) Error() string {
	d := strings.TrimSuffix(e.Detail, ".")
	if d != "" && d[0] >= 'A' && d[0] <= 'Z' {
		d = string(d[0]-'A'+'a') + d[1:]
	}
	return "openai: " + d
}

// ConfigErrors is every problem Validate found, in field order.
type ConfigErrors []*ConfigError

func (es ConfigErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "; ")
}

// envName is what a POSIX shell accepts as a variable name.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Validate checks cfg without reading the environment: an http(s)
// endpoint with no query (keys go in api_key_env) and a valid port, a model
// name, api_key_env a variable's name rather than a pasted key, and no
// negative concurrency or timeout. Its error is ConfigErrors. New calls it;
// so does the model block's decoder, at load time.
func (cfg Config) Validate() error {
	var es ConfigErrors
	if _, err := parseEndpoint(cfg.Endpoint); err != nil {
		es = append(es, &ConfigError{"endpoint", "Invalid endpoint", sentence(err.Error())})
	}
	if cfg.Name == "" {
		es = append(es, &ConfigError{"name", "Empty model name", "Model name is empty: an endpoint model needs a non-empty endpoint and name; set name to the model the server serves, as its /v1/models lists it."})
	}
	if cfg.APIKeyEnv != "" && !envName.MatchString(cfg.APIKeyEnv) {
		es = append(es, &ConfigError{"api_key_env", "Invalid api_key_env", "api_key_env names the environment variable that holds the key, such as OPENAI_API_KEY; it must not hold the key itself. If you pasted a key here, remove it from the file and revoke it."})
	}
	if cfg.MaxConcurrency < 0 {
		es = append(es, &ConfigError{"max_concurrency", "Invalid max_concurrency", fmt.Sprintf("max_concurrency is %d; it is the number of requests in flight at most and must be at least 1.", cfg.MaxConcurrency)})
	}
	if cfg.Timeout < 0 {
		es = append(es, &ConfigError{"timeout", "Invalid timeout", fmt.Sprintf("timeout is %s; it limits one request and must be positive.", cfg.Timeout)})
	}
	if len(es) == 0 {
		return nil
	}
	return es
}

// sentence turns an error of this package into a diagnostic's detail:
// no package prefix, a capital, a full stop.
func sentence(s string) string {
	s = strings.TrimPrefix(s, "openai: ")
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		s = string(s[0]-'a'+'A') + s[1:]
	}
	return s + "."
}

// parseEndpoint checks that s is an absolute http or https URL with a
// valid port, if any, and no query. Its errors never show a password or
// the query.
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
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		// The query may hold a key (?api-key=…): do not print it.
		return nil, fmt.Errorf("openai: endpoint has a query or fragment; give the API base only, such as %s://%s%s, and put the key in the variable named by api_key_env", u.Scheme, u.Host, u.Path)
	}
	host := u.Host
	if i := strings.LastIndexByte(host, ']'); i >= 0 {
		host = host[i+1:] // [::1]:8000
	}
	if _, port, ok := strings.Cut(host, ":"); ok {
		if port == "" {
			// http://127.0.0.1:/v1 would dial port 80.
			return nil, errors.New("openai: endpoint has a colon but no port after the host; write the port (http://host:8000/v1) or drop the colon for the scheme's default")
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, errors.New("openai: endpoint's port is not a number between 1 and 65535")
		}
	}
	return u, nil
}
