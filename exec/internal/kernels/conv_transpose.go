package kernels

import (
	"fmt"

	"github.com/kconv/kconv/exec/internal/gemm"
)

// ConvTransposeParams describes a 2-D transposed convolution (Keras
// Conv2DTranspose, ONNX ConvTranspose with group 1) of an NHWC input
// N×H×W×C into N×OutH×OutW×OutC, with the kernel as Keras stores it:
// KH×KW×OutC×C. Input pixel (iy, ix) scatters into output
// (iy*StrideH - PadTop + kh*DilH, ix*StrideW - PadLeft + kw*DilW).
//
// Pads crop the full output (ONNX pads; Keras "same" and "valid" are
// expressed through them), and OutPadH/OutPadW (output_padding) extend it at
// the bottom and right:
//
//	OutH = (H-1)*StrideH + (KH-1)*DilH + 1 - PadTop - PadBottom + OutPadH
//
// Strides and dilations of 0 mean 1.
type ConvTransposeParams struct {
	N, H, W, C                           int
	OutC                                 int
	KH, KW                               int
	StrideH, StrideW                     int
	DilH, DilW                           int
	PadTop, PadBottom, PadLeft, PadRight int
	OutPadH, OutPadW                     int
}

func (p ConvTransposeParams) norm() ConvTransposeParams {
	p.StrideH, p.StrideW = max(p.StrideH, 1), max(p.StrideW, 1)
	p.DilH, p.DilW = max(p.DilH, 1), max(p.DilW, 1)
	return p
}

// OutH is the output height (see the type's doc).
func (p ConvTransposeParams) OutH() int {
	q := p.norm()
	return max(0, (q.H-1)*q.StrideH+(q.KH-1)*q.DilH+1-q.PadTop-q.PadBottom+q.OutPadH)
}

// OutW is the output width.
func (p ConvTransposeParams) OutW() int {
	q := p.norm()
	return max(0, (q.W-1)*q.StrideW+(q.KW-1)*q.DilW+1-q.PadLeft-q.PadRight+q.OutPadW)
}

// InLen, OutLen and KernelLen are element counts.
func (p ConvTransposeParams) InLen() int     { return p.N * p.H * p.W * p.C }
func (p ConvTransposeParams) OutLen() int    { return p.N * p.OutH() * p.OutW() * p.OutC }
func (p ConvTransposeParams) KernelLen() int { return p.KH * p.KW * p.OutC * p.C }

// FLOPs counts two per multiply-add of the scatter (input pixels × taps ×
// channels), whether or not the target lands inside the cropped output.
func (p ConvTransposeParams) FLOPs() int64 {
	return 2 * int64(p.N*p.H*p.W) * int64(p.KH*p.KW) * int64(p.C) * int64(p.OutC)
}

// Validate reports malformed parameters.
func (p ConvTransposeParams) Validate() error {
	switch {
	case p.N < 0 || p.H < 1 || p.W < 1 || p.C < 1 || p.OutC < 1 || p.KH < 1 || p.KW < 1:
		return fmt.Errorf("kernels: bad transposed conv sizes %+v", p)
	case p.StrideH < 0 || p.StrideW < 0 || p.DilH < 0 || p.DilW < 0:
		return fmt.Errorf("kernels: negative stride or dilation %+v", p)
	case p.PadTop < 0 || p.PadBottom < 0 || p.PadLeft < 0 || p.PadRight < 0 || p.OutPadH < 0 || p.OutPadW < 0:
		return fmt.Errorf("kernels: negative padding %+v", p)
	}
	return nil
}

func ctCheck(p ConvTransposeParams, in, kernel, bias, out []float32) {
	if err := p.Validate(); err != nil {
		panic(err)
	}
	convCheckLen("transposed conv input", in, p.InLen())
	convCheckLen("transposed conv kernel", kernel, p.KernelLen())
	convCheckLen("transposed conv output", out, p.OutLen())
	if bias != nil {
		convCheckLen("transposed conv bias", bias, p.OutC)
	}
}

// Conv2DTranspose computes out = act(conv_transpose(in, kernel) + bias);
// bias (OutC values) may be nil.
//
// It is GEMM + col2im over tiles of input pixels: a tile's columns
// (pixels × KH·KW·OutC) = in_tile (pixels × C) · kernelᵀ, with the Keras
// kernel read as a (KH·KW·OutC)×C matrix, then each column block is added
// into its output pixel. The column buffer, from ws, stays within a fixed
// budget. The GEMM is split across the workers of ws.Par(); the scatter
// runs on the calling goroutine.
func Conv2DTranspose(p ConvTransposeParams, in, kernel, bias []float32, act Activation, out []float32, ws *Workspace) {
	ctCheck(p, in, kernel, bias, out)
	p = p.norm()
	oh, ow := p.OutH(), p.OutW()
	if len(out) == 0 {
		return
	}
	if bias != nil {
		convBiasFill(out, p.OutC, bias)
	} else {
		clear(out)
	}
	rows := p.N * p.H * p.W
	ncol := p.KH * p.KW * p.OutC
	tile := min(rows, max(convMinRows, convColBudget/ncol))
	col := ws.Get(tile * ncol)
	for r0 := 0; r0 < rows; r0 += tile {
		r1 := min(r0+tile, rows)
		gemm.Sgemm(ws.Par(), false, true, r1-r0, ncol, p.C, 1, in[r0*p.C:], p.C, kernel, p.C, 0, col, ncol)
		ctCol2im(&p, col, r0, r1, oh, ow, out)
	}
	convAct(out, act)
}

// ctCol2im adds the columns of input pixels [r0, r1) into out.
func ctCol2im(p *ConvTransposeParams, col []float32, r0, r1, oh, ow int, out []float32) {
	oc := p.OutC
	ncol := p.KH * p.KW * oc
	for r := r0; r < r1; r++ {
		n, iy, ix := r/(p.H*p.W), (r/p.W)%p.H, r%p.W
		cr := col[(r-r0)*ncol : (r-r0+1)*ncol]
		for kh := range p.KH {
			y := iy*p.StrideH - p.PadTop + kh*p.DilH
			if y < 0 || y >= oh {
				continue
			}
			orow := out[(n*oh+y)*ow*oc : (n*oh+y+1)*ow*oc]
			for kw := range p.KW {
				x := ix*p.StrideW - p.PadLeft + kw*p.DilW
				if x < 0 || x >= ow {
					continue
				}
				src := cr[(kh*p.KW+kw)*oc : (kh*p.KW+kw+1)*oc]
				dst := orow[x*oc : (x+1)*oc]
				for i, v := range src {
					dst[i] += v
				}
			}
		}
	}
}

// RefConv2DTranspose is Conv2DTranspose from the definition, as a gather:
//
//	out[n,y,x,o] = act(bias[o] + Σ in[n,iy,ix,c] * kernel[kh,kw,o,c])
//
// over all iy, ix, kh, kw, c with iy*sh - pt + kh*dh == y and
// ix*sw - pl + kw*dw == x.
func RefConv2DTranspose(p ConvTransposeParams, in, kernel, bias []float32, act Activation) []float32 {
	ctCheck(p, in, kernel, bias, make([]float32, p.OutLen()))
	p = p.norm()
	oh, ow := p.OutH(), p.OutW()
	out := make([]float32, p.N*oh*ow*p.OutC)
	for n := range p.N {
		for y := range oh {
			for x := range ow {
				for o := range p.OutC {
					var s float64
					if bias != nil {
						s = float64(bias[o])
					}
					for kh := range p.KH {
						ty := y + p.PadTop - kh*p.DilH // = iy*sh
						if ty < 0 || ty%p.StrideH != 0 || ty/p.StrideH >= p.H {
							continue
						}
						iy := ty / p.StrideH
						for kw := range p.KW {
							tx := x + p.PadLeft - kw*p.DilW
							if tx < 0 || tx%p.StrideW != 0 || tx/p.StrideW >= p.W {
								continue
							}
							ix := tx / p.StrideW
							for c := range p.C {
								s += float64(in[((n*p.H+iy)*p.W+ix)*p.C+c]) *
									float64(kernel[((kh*p.KW+kw)*p.OutC+o)*p.C+c])
							}
						}
					}
					out[((n*oh+y)*ow+x)*p.OutC+o] = float32(s)
				}
			}
		}
	}
	act.Apply(out)
	return out
}
