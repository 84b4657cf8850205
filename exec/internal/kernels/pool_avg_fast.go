package kernels

import "math"

// avgPoolFastOK reports whether avgPoolRowsFast computes p: the window
// fits the depthwise row kernel's tap list.
func avgPoolFastOK(p *PoolParams) bool {
	return simdAVX512() && p.KH*p.KW <= dwMaxTaps
}

// avgPoolRowsFast is avgPoolRows on the depthwise row kernel
// (conv_dw_amd64.s): an average is a depthwise convolution whose weights
// are 1/count, count being the window's size (in range, or with the
// padding when CountIncludePad), so that per output row the pixels whose
// window lies inside the image run as one vector stretch and border pixels
// one by one with their in-range taps. recip holds 1/k for k = 1..KH·KW,
// each repeated over the C channels. (The scalar loop ran Inception-v3's
// 3×3 stride-1 average poolings at ~4 GFLOP/s, 10% of its batch-1 time.)
// Each value is multiplied by 1/count before it is added, rather than the
// sum divided: a rounding difference of a few ulps.
func avgPoolRowsFast(dst, x []float32, p *PoolParams, oh, ow, lo, hi int, recip []float32) {
	C, W := p.C, p.W
	cb := 4 * C
	tail := uint64(0xFFFF)
	if C%16 != 0 {
		tail = 1<<(C%16) - 1
	}
	inf := float32(math.Inf(1))
	xa := (p.PadLeft + p.StrideW - 1) / p.StrideW
	xb := min(ow, max(xa, floorDiv(W-p.KW+p.PadLeft, p.StrideW)+1))
	var taps [2 * dwMaxTaps]int
	for r := lo; r < hi; r++ {
		n, oy := r/oh, r%oh
		ys := oy*p.StrideH - p.PadTop
		y0, y1 := poolSpan(ys, p.KH, 0, p.H)
		cy := y1 - y0
		if p.CountIncludePad {
			a, b := poolSpan(ys, p.KH, -p.PadTop, p.H+p.PadBottom)
			cy = b - a
		}
		img := x[n*p.H*W*C : (n+1)*p.H*W*C]
		orow := dst[r*ow*C : (r+1)*ow*C]
		pixels := func(ox0, ox1 int) {
			xs := ox0*p.StrideW - p.PadLeft
			x0, x1 := poolSpan(xs, p.KW, 0, W)
			cx := x1 - x0
			if p.CountIncludePad {
				a, b := poolSpan(xs, p.KW, -p.PadLeft, W+p.PadRight)
				cx = b - a
			}
			if y0 == y1 || x0 == x1 || cy*cx == 0 {
				clear(orow[ox0*C : ox1*C])
				return
			}
			k := (cy*cx - 1) * cb // the weights 1/count
			nt := 0
			for iy := y0; iy < y1; iy++ {
				for ix := x0; ix < x1; ix++ {
					taps[2*nt] = (iy*W + ix) * cb
					taps[2*nt+1] = k
					nt++
				}
			}
			dwRowAVX512(&orow[ox0*C], &img[0], &recip[0], nil, ox1-ox0, p.StrideW*cb, cb,
				&taps[0], nt, cb, tail, -inf, inf)
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

// avgPoolRecip fills r (taps·c floats) with 1/k for k = 1..taps, each
// repeated c times, and returns it.
func avgPoolRecip(r []float32, c int) []float32 {
	for k := range len(r) / c {
		v := 1 / float32(k+1)
		for i := range c {
			r[k*c+i] = v
		}
	}
	return r
}
