package cache

import (
	"encoding/binary"
)

// Key spaces in the Badger index. Each key starts with one letter and a
// slash, so that a prefix scan visits one kind of record.
const (
	prefixAction  = "a/" // a/<ActionID 32 bytes> → Entry (JSON)
	prefixLast    = "l/" // l/<Entry.Scope>\x00<Entry.Name> → ActionID (32 bytes)
	prefixStat    = "s/" // s/<absolute path> → statRecord
	prefixMemo    = "m/" // m/<uvarint len(namespace)><namespace><key> → value
	prefixBuild   = "b/" // b/<pipeline>\x00<unix ns, 8 bytes big-endian> → buildRecord (JSON)
	prefixOutStat = "o/" // o/<OutputID 32 bytes> → stat of each output file at commit (outstat.go)
	keyTrimmed    = "t"  // time of the last automatic trim (unix ns, 8 bytes)
)

func actionKey(id ID) []byte { return append([]byte(prefixAction), id[:]...) }

func lastKey(scope, name string) []byte {
	return []byte(prefixLast + scope + "\x00" + name)
}

func statDBKey(path string) []byte { return []byte(prefixStat + path) }

func memoKey(namespace, key string) []byte {
	b := []byte(prefixMemo)
	b = binary.AppendUvarint(b, uint64(len(namespace)))
	b = append(b, namespace...)
	return append(b, key...)
}

func buildPrefix(pipeline string) []byte { return []byte(prefixBuild + pipeline + "\x00") }

func buildKey(pipeline string, ns int64) []byte {
	return binary.BigEndian.AppendUint64(buildPrefix(pipeline), uint64(ns))
}
