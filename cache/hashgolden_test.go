package cache

import (
	"strings"
	"testing"
)

// TestHashGolden pins ActionIDs and OutputIDs to the values every earlier
// refeval computed for the same lines and manifests: a change here would
// make every cache entry stale (or, worse, two descriptions collide).
func TestHashGolden(t *testing.T) {
	long := strings.Repeat("0123456789abcdef", 200) // more than one BLAKE3 chunk (1 KB)
	tests := []struct {
		name  string
		lines []string
		want  string
	}{
		{"salt only", nil, "700960cac9740c89dd6cf70807c72798446834f800a14090790bfd47dd366430"},
		{"plain lines", []string{"kind exec 1", `config command ["sh","-c","true"]`}, "1e47dbd0f0c705b398d0760b168b6bc12168115741aead96b3ded6060effe1bc"},
		{"newline quoted", []string{"config text \"a\nb\"", `"starts with a quote`}, "ead6186d63dd1379f88be8e876c062f9c0244ba38a23fd1c55ee8ab12a9b525b"},
		{"long line", []string{"config text " + long, "input a.txt " + long[:64]}, "da1a82cadcd2fe99288a23ac587ecd29e0117b30ad11bfdb1815b8049f514747"},
		{"many lines", strings.Split(strings.Repeat("upstream stage.exec.x 0123\n", 100), "\n"), "34c785920f59f3795b4e41acf6b60eafa9a85a93744ddc4881c3244b66b68fec"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHash("stage", nil)
			for _, l := range tt.lines {
				h.Line("%s", l)
			}
			if got := h.Sum().String(); got != tt.want {
				t.Errorf("wrong ActionID\ngot:  %s\nwant: %s", got, tt.want)
			}
		})
	}
	t.Run("sum then more lines", func(t *testing.T) {
		h := NewHash("stage", nil)
		h.Line("kind %s %d", "exec", 1)
		first := h.Sum()
		h.Line("input %s", "a.txt")
		if got := first.String(); got != "e803c7bd864afcdfddc688b942f7d82098af514e721073bc745e84fbee0d3a7a" {
			t.Errorf("wrong first ActionID\ngot:  %s\nwant: %s", got, "e803c7bd864afcdfddc688b942f7d82098af514e721073bc745e84fbee0d3a7a")
		}
		if got := h.Sum().String(); got != "6bd0c26dfc2d530f756f5611a5087de00084a433a0121487c32b42011feebeb8" {
			t.Errorf("wrong second ActionID\ngot:  %s\nwant: %s", got, "6bd0c26dfc2d530f756f5611a5087de00084a433a0121487c32b42011feebeb8")
		}
	})

	var d1, d2 ID
	for i := range d1 {
		d1[i], d2[i] = byte(i), byte(255-i)
	}
	manifests := []struct {
		name  string
		files []File
		want  string
	}{
		{"empty", nil, "ed6567ef62a1408cdc06bb33505475a5a14f1be3a27a625d5eb7d983bac18fef"},
		{"one file", []File{{Name: "o.txt", Size: 90, Digest: d1, Mode: 0o444}}, "de11323aadef49a0bd759ea24a116e0d477658ecf8477e6e5ef1c5c08bbbb968"},
		{"exec and odd name", []File{{Name: "bin/run", Size: 0, Digest: d1, Mode: 0o555}, {Name: "sp ace\n\"q\".txt", Size: 1 << 40, Digest: d2, Mode: 0o444}}, "d24612d6548559993a61552d41052c29daa3c83633eee9eb40c474f4969e8c12"},
	}
	for _, tt := range manifests {
		t.Run("output "+tt.name, func(t *testing.T) {
			if got := OutputIDOf(tt.files).String(); got != tt.want {
				t.Errorf("wrong OutputID\ngot:  %s\nwant: %s", got, tt.want)
			}
		})
	}
}
