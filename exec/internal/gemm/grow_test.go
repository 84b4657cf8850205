package gemm

import "testing"

// TestGrowAligned: whatever buffer the pool hands back, the aligned slice
// holds the n floats asked for (a reused buffer with capacity n..n+15 once
// came out short after alignment: a panic under concurrent serving).
func TestGrowAligned(t *testing.T) {
	for n := 1; n < 80; n++ {
		for extra := 0; extra < 20; extra++ {
			for off := 0; off < 16; off++ {
				// An offset into a larger allocation gives every alignment.
				base := make([]float32, n+extra+off)
				s := base[off:]
				if got := len(aligned64(grow(s, n))); got < n {
					t.Fatalf("n=%d cap=%d off=%d: aligned slice has %d floats", n, cap(s), off, got)
				}
			}
		}
	}
}
