package remote

import (
	"encoding/binary"
	"encoding/hex"

	"github.com/zeebo/blake3"

	"github.com/refeval/refeval/cache"
)

// Key prefixes in the store (doc.go).
const (
	entryPrefix = "ac/"
	blobPrefix  = "blob/"
	memoPrefix  = "memo/"
)

func entryKey(action cache.ID) string { return entryPrefix + action.String() }

func blobKey(digest cache.ID) string { return blobPrefix + digest.String() }

// memoNSKey is the folder of a memo namespace: the namespace hashed, so
// that any namespace makes a valid key.
func memoNSKey(ns string) string {
	sum := blake3.Sum256([]byte("refeval memo ns\n" + ns))
	return memoPrefix + hex.EncodeToString(sum[:16]) + "/"
}

// memoKey is where one memo is stored: the namespace's folder and the
// item key hashed with its length (no two (ns, key) pairs collide).
func memoKey(ns, key string) string {
	h := blake3.New()
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(ns)))])
	h.WriteString(ns)
	h.WriteString(key)
	return memoNSKey(ns) + hex.EncodeToString(h.Sum(nil))
}
