package kernels

import "math"

// RefMaxPool is the reference max pooling: for each output cell, the max of
// the window cells that lie inside the input, -Inf if there are none.
func RefMaxPool(x []float32, p PoolParams) []float32 {
	oh, ow := p.Out()
	out := make([]float32, p.N*oh*ow*p.C)
	for n := 0; n < p.N; n++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				for c := 0; c < p.C; c++ {
					m := float32(math.Inf(-1))
					for ky := 0; ky < p.KH; ky++ {
						for kx := 0; kx < p.KW; kx++ {
							iy := oy*p.StrideH - p.PadTop + ky
							ix := ox*p.StrideW - p.PadLeft + kx
							if iy < 0 || iy >= p.H || ix < 0 || ix >= p.W {
								continue
							}
							m = max(m, x[((n*p.H+iy)*p.W+ix)*p.C+c])
						}
					}
					out[((n*oh+oy)*ow+ox)*p.C+c] = m
				}
			}
		}
	}
	return out
}

// RefAvgPool is the reference average pooling; see PoolParams for the
// divisor rule.
func RefAvgPool(x []float32, p PoolParams) []float32 {
	oh, ow := p.Out()
	out := make([]float32, p.N*oh*ow*p.C)
	for n := 0; n < p.N; n++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				for c := 0; c < p.C; c++ {
					var sum float64
					inside, counted := 0, 0
					for ky := 0; ky < p.KH; ky++ {
						for kx := 0; kx < p.KW; kx++ {
							iy := oy*p.StrideH - p.PadTop + ky
							ix := ox*p.StrideW - p.PadLeft + kx
							inPadded := iy >= -p.PadTop && iy < p.H+p.PadBottom &&
								ix >= -p.PadLeft && ix < p.W+p.PadRight
							if inPadded {
								counted++
							}
							if iy < 0 || iy >= p.H || ix < 0 || ix >= p.W {
								continue
							}
							inside++
							sum += float64(x[((n*p.H+iy)*p.W+ix)*p.C+c])
						}
					}
					div := inside
					if p.CountIncludePad {
						div = counted
					}
					var v float32
					if inside > 0 && div > 0 {
						v = float32(sum / float64(div))
					}
					out[((n*oh+oy)*ow+ox)*p.C+c] = v
				}
			}
		}
	}
	return out
}

// RefGlobalAvgPool is the reference mean over H and W (N×C result).
func RefGlobalAvgPool(x []float32, n, h, w, c int) []float32 {
	out := make([]float32, n*c)
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			var s float64
			for i := 0; i < h*w; i++ {
				s += float64(x[(b*h*w+i)*c+ch])
			}
			if h*w > 0 {
				out[b*c+ch] = float32(s / float64(h*w))
			}
		}
	}
	return out
}

// RefGlobalMaxPool is the reference max over H and W (N×C result).
func RefGlobalMaxPool(x []float32, n, h, w, c int) []float32 {
	out := make([]float32, n*c)
	for b := 0; b < n; b++ {
		for ch := 0; ch < c; ch++ {
			m := float32(math.Inf(-1))
			for i := 0; i < h*w; i++ {
				m = max(m, x[(b*h*w+i)*c+ch])
			}
			out[b*c+ch] = m
		}
	}
	return out
}
