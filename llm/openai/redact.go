package openai

import (
	"context"
	"errors"
	"net/url"
	"strings"
)

// redacted replaces secrets in messages.
const redacted = "[redacted]"

// redactURL prints u without its user info: endpoints like
// https://user:key@host/v1 carry credentials in both parts.
func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	v := *u
	if v.User != nil {
		v.User = url.User(redacted)
	}
	return v.String()
}

// secrets lists the strings that must never leave the client.
func (c *Client) secrets() []string {
	var s []string
	if c.key != "" {
		s = append(s, c.key)
	}
	if c.endpoint != nil && c.endpoint.User != nil {
		if p, ok := c.endpoint.User.Password(); ok && p != "" {
			s = append(s, p, url.QueryEscape(p), url.PathEscape(p))
		}
		if n := c.endpoint.User.Username(); n != "" {
			s = append(s, n, url.QueryEscape(n))
		}
	}
	return s
}

// redact removes every secret from s. Servers echo request headers in
// their error bodies, so the key can come back in a message.
func (c *Client) redact(s string) string {
	for _, secret := range c.secrets() {
		if len(secret) >= 4 { // shorter strings would blank out ordinary words
			s = strings.ReplaceAll(s, secret, redacted)
		}
	}
	return s
}

// redactErr returns err with its message redacted, keeping the chain for
// errors.Is (context.Canceled, context.DeadlineExceeded) when the message
// holds no secret.
func (c *Client) redactErr(err error) error {
	msg := err.Error()
	clean := c.redact(msg)
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, err: err}
}

// redactedError keeps the wrapped error for errors.Is but prints only the
// redacted message.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }

// Unwrap exposes only the sentinel errors callers test for: the wrapped
// chain's own messages may hold the secret.
func (e *redactedError) Unwrap() error {
	for _, s := range []error{context.Canceled, context.DeadlineExceeded, ErrRejected} {
		if errors.Is(e.err, s) {
			return s
		}
	}
	return nil
}
