package engine

import (
	"encoding/json"

	"github.com/refeval/refeval/cache"
)

// entryMeta is what the engine records about an action in its cache entry
// (cache.Entry.Meta, opaque to the cache), so that plan can say what
// changed since the stage's last run (whyNew). The field names are those
// the first entry layout had at its top level, which the cache turns into
// Meta when it reads such an entry (cache/record_v1.go): old caches keep
// their explanations.
type entryMeta struct {
	Format            int `json:",omitempty"` // actionFormat; 0 for entries made before it was recorded (format 1)
	Kind, KindVersion string
	Config            map[string]string // attribute → canonical JSON
	Inputs            map[string]string // input path → content digest hex
	Upstream          map[string]string // upstream stage address → OutputID hex
}

// newEntry returns the cache entry of a's run: the stage address and
// pipeline file as the entry's Name and Scope, the rest as its Meta.
func newEntry(a *action, oid cache.ID, files []cache.File) (*cache.Entry, error) {
	meta, err := json.Marshal(entryMeta{Format: actionFormat, Kind: a.in.Kind.Name, KindVersion: a.in.Kind.Version,
		Config: a.config, Inputs: a.inputs, Upstream: a.upstream})
	if err != nil {
		return nil, err
	}
	return &cache.Entry{OutputID: oid, Files: files, Name: a.in.Addr, Scope: a.p.File, Meta: meta}, nil
}

// metaOf reads the engine's description of an entry; ok is false when the
// entry has none the engine can read (a remote entry of another program).
func metaOf(e *cache.Entry) (m entryMeta, ok bool) {
	if len(e.Meta) == 0 || json.Unmarshal(e.Meta, &m) != nil {
		return entryMeta{}, false
	}
	return m, true
}
