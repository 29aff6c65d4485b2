package cache

import "github.com/zeebo/blake3"

// SegmentSize is the leaf size of the content tree (digest.go). A caller
// that receives a file in pieces aligned on SegmentSize (a parallel
// download) can hash each piece's leaves as it streams with LeafDigest and
// get the content digest from DigestOfLeaves, without reading the file
// again.
const SegmentSize = segmentSize

// LeafDigest returns the leaf hash of one segment: SegmentSize bytes, or
// fewer for the last segment of a file.
func LeafDigest(seg []byte) [32]byte { return blake3.Sum256(seg) }

// DigestOfLeaves returns the content digest of a file of size bytes whose
// segments' leaf hashes, in order, are leaves (32 bytes each). It is what
// DigestPath gives for that file.
func DigestOfLeaves(size int64, leaves []byte) ID { return rootDigest(size, leaves) }
