package checkpoint

import "math"

// ToFloat16 converts f to IEEE 754 half precision (F16 safetensors and GGUF), rounding to nearest even
// as numpy's astype(float16) and ggml's ggml_fp32_to_fp16 do; values too
// large become ±Inf and NaN stays NaN.
func ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23&0xff) - 127
	mant := b & 0x7fffff
	switch {
	case exp == 128: // Inf or NaN.
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp > 15:
		return sign | 0x7c00
	case exp >= -14: // Normal half.
		h := uint32(exp+15)<<10 | mant>>13
		rest := mant & 0x1fff
		if rest > 0x1000 || rest == 0x1000 && h&1 == 1 {
			h++ // May carry into the exponent, up to Inf: still correct.
		}
		return sign | uint16(h)
	case exp >= -25: // Subnormal half (or rounds up to the smallest one).
		m := mant | 0x800000
		shift := uint(-exp - 1) // Half subnormals are m·2^-24: shift = 13 + (-14 - exp).
		h := m >> shift
		rest := m & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rest > half || rest == half && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	}
	return sign
}

// FromFloat16 converts an IEEE 754 half to float32 (exactly).
func FromFloat16(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		v := float32(mant) / (1 << 24)
		if sign != 0 {
			return -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}
