package engine

import (
	"bytes"
	"regexp"
)

// urlUserinfo matches the userinfo of a URL inside a JSON text
// ("https://user:secret@host/v1", "http://token@host").
var urlUserinfo = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://)[^/\s"@]+@`)

// redactConfig replaces the userinfo of URLs (user names, passwords,
// tokens) in a stage's canonical configuration with "REDACTED" before it is
// hashed, stored in the cache index or printed (plan reasons,
// REFEVAL_DEBUG=cachehash). Credentials never change a stage's
// result, so they stay out of its ActionID too: rotating a password written into an
// endpoint URL reruns nothing.
func redactConfig(js []byte) []byte {
	if !bytes.Contains(js, []byte("://")) || bytes.IndexByte(js, '@') < 0 {
		return js // no URL with userinfo; skips the regexp for most attributes
	}
	return urlUserinfo.ReplaceAll(js, []byte("${1}REDACTED@"))
}
