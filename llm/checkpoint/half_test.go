package checkpoint

import (
	"math"
	"testing"
)

func TestFloat16(t *testing.T) {
	tests := []struct {
		in   float32
		want uint16
	}{
		{0, 0x0000}, {float32(math.Copysign(0, -1)), 0x8000}, {1, 0x3c00}, {-2, 0xc000},
		{65504, 0x7bff}, {65520, 0x7c00}, {1e10, 0x7c00}, {float32(math.Inf(-1)), 0xfc00},
		{6.103515625e-05, 0x0400},         // Smallest normal.
		{5.960464477539063e-08, 0x0001},   // Smallest subnormal.
		{2.98023223876953125e-08, 0x0000}, // Half of it: ties to even (0).
		{4.5e-08, 0x0001},
		{1.0009765625, 0x3c01},  // 1 + 2^-10.
		{1.00048828125, 0x3c00}, // 1 + 2^-11: tie, to even.
		{1.00146484375, 0x3c02}, // 1 + 3·2^-11: tie, to even (up).
		{0.333333333, 0x3555},
	}
	for _, tt := range tests {
		if got := ToFloat16(tt.in); got != tt.want {
			t.Errorf("ToFloat16(%g): wrong bits\ngot:  %#04x\nwant: %#04x", tt.in, got, tt.want)
		}
	}
	if got := ToFloat16(float32(math.NaN())); got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
		t.Errorf("ToFloat16(NaN) = %#04x, not a NaN", got)
	}
	// Every finite half converts to float32 and back unchanged.
	for h := 0; h < 1<<16; h++ {
		if h&0x7c00 == 0x7c00 {
			continue
		}
		if got := ToFloat16(FromFloat16(uint16(h))); got != uint16(h) {
			t.Fatalf("half %#04x: round trip gave %#04x", h, got)
		}
	}
}
