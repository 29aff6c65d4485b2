package llm

// Sequence lengths are padded to buckets so that a long run compiles a few
// graphs instead of one per batch: powers of two up to 256, then steps of
// half a power of two (384, 512, 768, 1024, …), wasting at most a third.
func seqBucket(n int) int {
	b := 16
	for b < n {
		switch {
		case b < 256:
			b *= 2
		case b&(b-1) == 0: // power of two: go to 1.5×
			b += b / 2
		default: // 1.5 × a power of two: go to the next power
			b += b / 3
		}
	}
	return b
}

// batchBucket pads a batch of n rows to a power of two, at most max (and
// at least n).
func batchBucket(n, max int) int {
	b := 1
	for b < n {
		b *= 2
	}
	if b > max && n <= max {
		b = max
	}
	return b
}
