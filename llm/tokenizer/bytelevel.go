package tokenizer

import "unicode/utf8"

// byteChars maps each byte to the printable rune that stands for it in a
// byte-level vocabulary (GPT-2's bytes_to_unicode): printable Latin-1 bytes
// stand for themselves, the others are shifted to U+0100 and up.
var byteChars [256]rune

// charBytes is the inverse of byteChars.
var charBytes map[rune]byte

func init() {
	charBytes = make(map[rune]byte, 256)
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			byteChars[b] = rune(b)
		} else {
			byteChars[b] = rune(256 + n)
			n++
		}
		charBytes[byteChars[b]] = byte(b)
	}
}

// byteLevel returns the byte-level form of raw bytes: one rune per byte.
func byteLevel(raw string) string {
	buf := make([]byte, 0, 2*len(raw))
	for i := 0; i < len(raw); i++ {
		buf = utf8.AppendRune(buf, byteChars[raw[i]])
	}
	return string(buf)
}

// unByteLevel returns the raw bytes a byte-level token stands for, and false if
// some rune of it is not a byte-level rune. The ByteLevel decoder then uses the
// token's own UTF-8 bytes, as the Rust decoder does.
func unByteLevel(tok string) (string, bool) {
	buf := make([]byte, 0, len(tok))
	for _, r := range tok {
		b, ok := charBytes[r]
		if !ok {
			return "", false
		}
		buf = append(buf, b)
	}
	return string(buf), true
}
