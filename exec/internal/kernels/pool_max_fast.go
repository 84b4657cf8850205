package kernels

import "math"

// poolMaxTaps bounds the window of the vector max pooling.
const poolMaxTaps = 64

// maxPoolFastOK reports whether maxPoolRowsFast computes p.
func maxPoolFastOK(p *PoolParams) bool {
	return simdAVX512() && p.KH*p.KW <= poolMaxTaps
}

// maxPoolRowsFast is maxPoolRows on the vector kernel (pool_max_amd64.s):
// per output row, pixels whose window lies inside the image run as one
// stretch, border pixels one by one with their in-range taps; a window
// wholly in the padding gives -Inf, as in maxPoolRows.
func maxPoolRowsFast(dst, x []float32, p *PoolParams, oh, ow, lo, hi int) {
	C, W := p.C, p.W
	cb := 4 * C
	tail := uint64(0xFFFF)
	if C%16 != 0 {
		tail = 1<<(C%16) - 1
	}
	// Pixels ox in [xa, xb) have the whole window row inside the image.
	xa := (p.PadLeft + p.StrideW - 1) / p.StrideW
	xb := min(ow, max(xa, floorDiv(W-p.KW+p.PadLeft, p.StrideW)+1))
	var taps [poolMaxTaps]int
	for r := lo; r < hi; r++ {
		n, oy := r/oh, r%oh
		y0, y1 := poolSpan(oy*p.StrideH-p.PadTop, p.KH, 0, p.H)
		img := x[n*p.H*W*C : (n+1)*p.H*W*C]
		orow := dst[r*ow*C : (r+1)*ow*C]
		pixels := func(ox0, ox1 int) {
			x0, x1 := poolSpan(ox0*p.StrideW-p.PadLeft, p.KW, 0, W)
			nt := 0
			for iy := y0; iy < y1; iy++ {
				for ix := x0; ix < x1; ix++ {
					taps[nt] = (iy*W + ix) * cb
					nt++
				}
			}
			if nt == 0 {
				o := orow[ox0*C : ox1*C]
				for i := range o {
					o[i] = float32(math.Inf(-1))
				}
				return
			}
			maxRowAVX512(&orow[ox0*C], &img[0], ox1-ox0, p.StrideW*cb, cb, &taps[0], nt, cb, tail)
		}
		for ox := 0; ox < min(xa, ow); ox++ {
			pixels(ox, ox+1)
		}
		if xa < xb {
			pixels(xa, xb)
		}
		for ox := max(xa, xb); ox < ow; ox++ {
			pixels(ox, ox+1)
		}
	}
}
