package bucket

import "testing"

func TestSeq(t *testing.T) {
	tests := []struct{ n, want int }{{0, 16}, {1, 16}, {16, 16}, {17, 32}, {200, 256}, {256, 256}, {257, 384}, {384, 384}, {385, 512}, {513, 768}, {769, 1024}, {1025, 1536}, {1537, 2048}}
	for _, tt := range tests {
		if got := Seq(tt.n); got != tt.want {
			t.Errorf("wrong bucket of %d\ngot:  %#v\nwant: %#v", tt.n, got, tt.want)
		}
	}
}

func TestBatch(t *testing.T) {
	tests := []struct{ n, max, want int }{{1, 8, 1}, {3, 8, 4}, {5, 8, 8}, {5, 6, 6}, {8, 8, 8}, {9, 8, 16}}
	for _, tt := range tests {
		if got := Batch(tt.n, tt.max); got != tt.want {
			t.Errorf("wrong batch bucket of %d (max %d)\ngot:  %#v\nwant: %#v", tt.n, tt.max, got, tt.want)
		}
	}
}
