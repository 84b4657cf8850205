package kernels

import "math"

// poolMaxTaps bounds the window of the vector max pooling.
const poolMaxTaps = 64

// maxPoolFastOK reports whether maxPoolRowsFast computes p.
func maxPoolFastOK(p *PoolParams) bool {
	return simdAVX512() && p.KH <= poolMaxTaps && p.KW <= poolMaxTaps
}

// maxPoolScratch is the scratch maxPoolRowsFast needs: one input row.
func maxPoolScratch(p *PoolParams) int { return p.W * p.C }

// maxPoolRowsFast is maxPoolRows on the vector kernel (pool_max_amd64.s),
// separably: per output row, the max over the window's in-range input rows
// is taken first, element by element along whole rows (each row read in
// address order, one stream per window row), into scratch (W·C floats);
// then the max over each output pixel's in-range columns of that row:
// pixels whose window lies inside the row run as one stretch, border
// pixels one by one. A window wholly in the padding gives -Inf, as in
// maxPoolRows, and a NaN anywhere in a window gives NaN. Taking the window
// tap by tap instead — nine loads at nine places per output pixel —
// defeated the hardware prefetchers: Inception-v3's 3×3/2 poolings at
// batch 8, whose inputs come from DRAM, ran at ~7 GB/s, a third of ONNX
// Runtime's speed.
func maxPoolRowsFast(dst, x []float32, p *PoolParams, oh, ow, lo, hi int, scratch []float32) {
	C, W := p.C, p.W
	cb := 4 * C
	tail := uint64(0xFFFF)
	if C%16 != 0 {
		tail = 1<<(C%16) - 1
	}
	rowLen := W * C
	rowTail := uint64(0xFFFF)
	if rowLen%16 != 0 {
		rowTail = 1<<(rowLen%16) - 1
	}
	// Pixels ox in [xa, xb) have the whole window row inside the image.
	xa := (p.PadLeft + p.StrideW - 1) / p.StrideW
	xb := min(ow, max(xa, floorDiv(W-p.KW+p.PadLeft, p.StrideW)+1))
	var taps [poolMaxTaps]int
	negInf := float32(math.Inf(-1))
	v := scratch[:rowLen]
	for r := lo; r < hi; r++ {
		n, oy := r/oh, r%oh
		y0, y1 := poolSpan(oy*p.StrideH-p.PadTop, p.KH, 0, p.H)
		img := x[n*p.H*rowLen : (n+1)*p.H*rowLen]
		orow := dst[r*ow*C : (r+1)*ow*C]
		if y0 == y1 {
			for i := range orow {
				orow[i] = negInf
			}
			continue
		}
		row := img[y0*rowLen : (y0+1)*rowLen]
		if y1-y0 > 1 {
			for t := range y1 - y0 {
				taps[t] = t * rowLen * 4
			}
			maxRowAVX512(&v[0], &row[0], 1, 0, 0, &taps[0], y1-y0, rowLen*4, rowTail)
			row = v
		}
		pixels := func(ox0, ox1 int) {
			x0, x1 := poolSpan(ox0*p.StrideW-p.PadLeft, p.KW, 0, W)
			if x0 == x1 {
				o := orow[ox0*C : ox1*C]
				for i := range o {
					o[i] = negInf
				}
				return
			}
			for t := range x1 - x0 {
				taps[t] = (x0 + t) * cb
			}
			maxRowAVX512(&orow[ox0*C], &row[0], ox1-ox0, p.StrideW*cb, cb, &taps[0], x1-x0, cb, tail)
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
