package exec

import (
	"math"

	"github.com/kconv/kconv/ir"
)

// nchwToNHWC transposes an (n, c, h, w) tensor to (n, h, w, c).
func nchwToNHWC(dst, src []float32, n, c, h, w int) {
	hw := h * w
	for b := 0; b < n; b++ {
		s := src[b*c*hw : (b+1)*c*hw]
		d := dst[b*c*hw : (b+1)*c*hw]
		for ch := 0; ch < c; ch++ {
			plane := s[ch*hw : (ch+1)*hw]
			for i, v := range plane {
				d[i*c+ch] = v
			}
		}
	}
}

// nhwcToNCHW transposes an (n, h, w, c) tensor to (n, c, h, w); the
// dimensions are given in NCHW order.
func nhwcToNCHW(dst, src []float32, n, c, h, w int) {
	hw := h * w
	for b := 0; b < n; b++ {
		s := src[b*c*hw : (b+1)*c*hw]
		d := dst[b*c*hw : (b+1)*c*hw]
		for ch := 0; ch < c; ch++ {
			plane := d[ch*hw : (ch+1)*hw]
			for i := range plane {
				plane[i] = s[i*c+ch]
			}
		}
	}
}

// padNHWC zero-pads height and width by p (top, bottom, left, right).
func padNHWC(dst, src []float32, n, h, w, c int, p [4]int) {
	oh, ow := h+p[0]+p[1], w+p[2]+p[3]
	clear(dst[:n*oh*ow*c])
	for b := 0; b < n; b++ {
		for y := 0; y < h; y++ {
			s := src[((b*h+y)*w)*c : ((b*h+y)*w+w)*c]
			d := dst[((b*oh+y+p[0])*ow+p[2])*c:]
			copy(d[:w*c], s)
		}
	}
}

// cropNHWC removes p (top, bottom, left, right) rows and columns.
func cropNHWC(dst, src []float32, n, h, w, c int, p [4]int) {
	oh, ow := h-p[0]-p[1], w-p[2]-p[3]
	for b := 0; b < n; b++ {
		for y := 0; y < oh; y++ {
			s := src[((b*h+y+p[0])*w+p[2])*c:]
			copy(dst[((b*oh+y)*ow)*c:((b*oh+y)*ow+ow)*c], s[:ow*c])
		}
	}
}

// dilatedPool is max or average pooling with dilations (ONNX), written
// directly: rare in practice, so clarity wins over speed. Cells outside the
// input are padding (ignored by max; for average, counted only with
// CountIncludePad inside the explicit pads).
func dilatedPool(dst, src []float32, n, h, w, c, oh, ow int, op *ir.Pool2D, pads [4]int) {
	dh, dw := max(op.DH, 1), max(op.DW, 1)
	for b := 0; b < n; b++ {
		for oy := 0; oy < oh; oy++ {
			for ox := 0; ox < ow; ox++ {
				for ch := 0; ch < c; ch++ {
					acc, cnt := float32(0), 0
					if op.Max {
						acc = float32(math.Inf(-1))
					}
					for ky := 0; ky < op.KH; ky++ {
						y := oy*op.SH - pads[0] + ky*dh
						for kx := 0; kx < op.KW; kx++ {
							x := ox*op.SW - pads[2] + kx*dw
							inside := y >= 0 && y < h && x >= 0 && x < w
							if !inside {
								if op.CountIncludePad && y >= -pads[0] && y < h+pads[1] && x >= -pads[2] && x < w+pads[3] {
									cnt++
								}
								continue
							}
							v := src[((b*h+y)*w+x)*c+ch]
							if op.Max {
								acc = max(acc, v)
							} else {
								acc += v
							}
							cnt++
						}
					}
					if !op.Max && cnt > 0 {
						acc /= float32(cnt)
					}
					dst[((b*oh+oy)*ow+ox)*c+ch] = acc
				}
			}
		}
	}
}
