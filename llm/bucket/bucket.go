package bucket

// Seq rounds a sequence length n up: powers of two from 16 up to 256,
// then steps of half a power of two (384, 512, 768, 1024, 1536, …), so
// that padding wastes at most a third of a bucket.
func Seq(n int) int {
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

// Batch rounds a batch of n rows up to a power of two, at most max (and
// at least n).
func Batch(n, max int) int {
	b := 1
	for b < n {
		b *= 2
	}
	if b > max && n <= max {
		b = max
	}
	return b
}
