package onnx

import (
	"fmt"
	"testing"
)

// transposeCases are kernel shapes (m output channels, cg input channels
// a group, khw window positions): ResNet-sized ones, 1×1s, a depthwise
// one (cg 1) and odd sizes that leave rows after the 16-row tiles.
var transposeCases = []struct{ m, cg, khw int }{
	{512, 512, 9}, {256, 256, 9}, {64, 64, 9}, {256, 1024, 1}, {1024, 256, 1},
	{20, 13, 9}, {37, 100, 1}, {100, 5, 25}, {96, 1, 9}, {1, 3, 49}, {17, 16, 4},
}

// transposeChunks runs transposeRows over src as weight does, a chunk of
// rows at a time.
func transposeChunks(dst, src []float32, m, cg, khw int) {
	n := cg * khw
	step := max(chunkElems/n, min(chunkMinRows, 16*chunkElems/n), 1)
	for r0 := 0; r0 < m; r0 += step {
		transposeRows(dst, src[r0*n:min(r0+step, m)*n], khw, cg, m, r0)
	}
}

// TestTransposeRows checks transposeRows against the layouts' definition:
// ONNX (M, C/g, kh·kw) value (o, i, p) is HWIO (kh·kw, C/g, M) value
// (p, i, o).
func TestTransposeRows(t *testing.T) {
	for _, c := range transposeCases {
		n := c.cg * c.khw
		src := make([]float32, c.m*n)
		for i := range src {
			src[i] = float32(i)
		}
		got := make([]float32, len(src))
		transposeChunks(got, src, c.m, c.cg, c.khw)
		for o := range c.m {
			for i := range c.cg {
				for p := range c.khw {
					if w, g := src[(o*c.cg+i)*c.khw+p], got[(p*c.cg+i)*c.m+o]; w != g {
						t.Fatalf("%+v: (o %d, i %d, p %d) = %v, want %v", c, o, i, p, g, w)
					}
				}
			}
		}
	}
}

func BenchmarkTransposeRows(b *testing.B) {
	for _, c := range transposeCases[:5] {
		n := c.cg * c.khw
		src, dst := make([]float32, c.m*n), make([]float32, c.m*n)
		b.Run(fmt.Sprintf("%dx%dx%d", c.m, c.cg, c.khw), func(b *testing.B) {
			b.SetBytes(int64(4 * len(src)))
			for b.Loop() {
				transposeChunks(dst, src, c.m, c.cg, c.khw)
			}
		})
	}
}
