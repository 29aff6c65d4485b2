package cache

import (
	"encoding/json"
	"strings"
)

// Entries of the first layout. Until the caller's description moved into
// Entry.Meta, an entry held the engine's fields beside the cache's own:
//
//	{"OutputID", "Files", "Config", "Inputs", "Upstream", "Kind",
//	 "KindVersion", "Addr", "Pipeline", "Created", "LastUsed", "Duration"}
//
// Caches hold such entries in the index and in their records (whose
// digest covers the old bytes), and team caches hold them remotely, so
// they are read, not rejected: an entry without Meta is a first-layout
// one, whose Addr and Pipeline are its Name and Scope and whose other
// fields, the caller's, become Meta as one JSON object. The engine's Meta
// keeps those field names (engine/entrymeta.go), so an old entry still
// explains a rerun. Written back (Touch, a rebuilt index), it takes the
// new layout.

// v1Names are the first layout's fields that Name and Scope replace.
type v1Names struct{ Addr, Pipeline string }

// cacheFields are the fields of an Entry the cache itself reads.
var cacheFields = []string{"OutputID", "Files", "Name", "Scope", "Meta", "Created", "LastUsed", "Duration", "Addr", "Pipeline"}

// upgradeV1 fills e, decoded from b without a Meta, as the first layout
// says: Name and Scope from Addr and Pipeline, Meta from every field that
// is not the cache's. encoding/json matches field names without regard to
// case, and so does this.
func upgradeV1(e *Entry, b []byte) error {
	var names v1Names
	if err := json.Unmarshal(b, &names); err != nil {
		return err
	}
	if e.Name == "" && e.Scope == "" {
		e.Name, e.Scope = names.Addr, names.Pipeline
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	for k := range fields {
		for _, c := range cacheFields {
			if strings.EqualFold(k, c) {
				delete(fields, k)
				break
			}
		}
	}
	if len(fields) == 0 {
		return nil
	}
	meta, err := json.Marshal(fields)
	if err != nil {
		return err
	}
	e.Meta = meta
	return nil
}
