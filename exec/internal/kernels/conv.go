package kernels

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/kconv/kconv/exec/internal/gemm"
)

// ConvParams describes a 2-D convolution over an NHWC input of N×H×W×C with
// an HWIO kernel of KH×KW×(C/Groups)×OutC. Strides and dilations of 0 mean 1;
// Groups of 0 means 1. Pads are explicit (Keras "same" is expressed as pads,
// e.g. top 0 bottom 1 for an even stride-2 window).
type ConvParams struct {
	N, H, W, C                           int
	OutC                                 int
	KH, KW                               int
	StrideH, StrideW                     int
	DilH, DilW                           int
	PadTop, PadBottom, PadLeft, PadRight int
	Groups                               int
}

func (p ConvParams) norm() ConvParams {
	p.StrideH, p.StrideW = max(p.StrideH, 1), max(p.StrideW, 1)
	p.DilH, p.DilW = max(p.DilH, 1), max(p.DilW, 1)
	p.Groups = max(p.Groups, 1)
	return p
}

// OutH is the output height: floor((H + pads - dilated kernel) / stride) + 1.
func (p ConvParams) OutH() int {
	q := p.norm()
	return convOutSize(q.H, q.KH, q.StrideH, q.DilH, q.PadTop, q.PadBottom)
}

// OutW is the output width.
func (p ConvParams) OutW() int {
	q := p.norm()
	return convOutSize(q.W, q.KW, q.StrideW, q.DilW, q.PadLeft, q.PadRight)
}

func convOutSize(in, k, s, d, pa, pb int) int {
	eff := (k-1)*d + 1
	if in+pa+pb < eff {
		return 0
	}
	return (in+pa+pb-eff)/s + 1
}

// InLen, OutLen and KernelLen are the element counts of the input, output
// and HWIO kernel.
func (p ConvParams) InLen() int     { return p.N * p.H * p.W * p.C }
func (p ConvParams) OutLen() int    { return p.N * p.OutH() * p.OutW() * p.OutC }
func (p ConvParams) KernelLen() int { return p.KH * p.KW * (p.C / max(p.Groups, 1)) * p.OutC }

// FLOPs is the multiply-add count times two.
func (p ConvParams) FLOPs() int64 {
	return 2 * int64(p.N) * int64(p.OutH()) * int64(p.OutW()) * int64(p.OutC) * int64(p.KH*p.KW) * int64(p.C/max(p.Groups, 1))
}

// Validate reports malformed parameters.
func (p ConvParams) Validate() error {
	q := p.norm()
	switch {
	case p.N < 0 || p.H < 0 || p.W < 0 || p.C < 1 || p.OutC < 1 || p.KH < 1 || p.KW < 1:
		return fmt.Errorf("kernels: bad conv sizes %+v", p)
	case p.StrideH < 0 || p.StrideW < 0 || p.DilH < 0 || p.DilW < 0 || p.Groups < 0:
		return fmt.Errorf("kernels: negative stride, dilation or groups %+v", p)
	case p.PadTop < 0 || p.PadBottom < 0 || p.PadLeft < 0 || p.PadRight < 0:
		return fmt.Errorf("kernels: negative padding %+v", p)
	case p.C%q.Groups != 0 || p.OutC%q.Groups != 0:
		return fmt.Errorf("kernels: channels %d→%d not divisible by groups %d", p.C, p.OutC, q.Groups)
	}
	return nil
}

func convCheckLen(what string, buf []float32, want int) {
	if len(buf) != want {
		panic(fmt.Sprintf("kernels: %s has %d elements, want %d", what, len(buf), want))
	}
}

func convCheck(p ConvParams, in, kernel, bias, out []float32) {
	if err := p.Validate(); err != nil {
		panic(err)
	}
	convCheckLen("conv input", in, p.InLen())
	convCheckLen("conv kernel", kernel, p.KernelLen())
	convCheckLen("conv output", out, p.OutLen())
	if bias != nil {
		convCheckLen("conv bias", bias, p.OutC)
	}
}

// convColBudget bounds one worker's im2col buffer, in floats (2 MiB).
// Measured on VGG16 layers, a single-threaded OpenBLAS GEMM reaches ~97% of
// its large-m speed at 128 rows, so tiles never go below convMinRows even if
// that overshoots the budget for huge K (K = 9*512 → 128 rows = 2.25 MiB).
const (
	convColBudget = 512 << 10
	convMinRows   = 128
)

// Conv2D computes out = act(conv(in, kernel) + bias) over NHWC in and out
// with an HWIO kernel; bias (OutC values) may be nil.
//
// It runs im2col + GEMM over tiles of output pixels (across the whole
// batch), so the column buffer stays within a fixed budget per worker, and
// fuses bias and activation into each tile right after its GEMM. 1×1
// stride-1 unpadded convs skip im2col: the input is the GEMM operand. Tiles
// are shared out among gemm.Threads() goroutines, each calling the
// single-threaded GEMM (the gemm package's threading rule).
func Conv2D(p ConvParams, in, kernel, bias []float32, act Activation, out []float32, ws *Workspace) {
	convCheck(p, in, kernel, bias, out)
	p = p.norm()
	oh, ow := p.OutH(), p.OutW()
	rows := p.N * oh * ow
	if rows == 0 {
		return
	}
	g := p.Groups
	cg, ocg := p.C/g, p.OutC/g
	kdim := p.KH * p.KW * cg
	direct := p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 &&
		p.PadTop == 0 && p.PadBottom == 0 && p.PadLeft == 0 && p.PadRight == 0

	workers := max(1, gemm.Threads())
	// Tile rows: as many as the budget allows (at least convMinRows), then
	// evened out so the tile count is a multiple of the worker count.
	tileMax := max(convMinRows, convColBudget/max(kdim, 1))
	if direct {
		tileMax = max(convMinRows, convColBudget/max(p.OutC, 1)) // output-tile locality only
	}
	ntiles := (rows + tileMax - 1) / tileMax
	if ntiles > 1 || rows >= 2*convMinRows {
		ntiles = (max(ntiles, workers) + workers - 1) / workers * workers
	}
	tile := (rows + ntiles - 1) / ntiles
	ntiles = (rows + tile - 1) / tile
	workers = min(workers, ntiles)

	var col []float32
	if !direct {
		col = ws.Get(workers * tile * kdim)
	}
	run := func(w int, next *atomic.Int64) {
		var buf []float32
		if !direct {
			buf = col[w*tile*kdim : (w+1)*tile*kdim]
		}
		for {
			t := int(next.Add(1)) - 1
			if t >= ntiles {
				return
			}
			r0 := t * tile
			r1 := min(r0+tile, rows)
			m := r1 - r0
			for gi := range g {
				var a []float32
				var lda int
				if direct {
					a, lda = in[r0*p.C+gi*cg:], p.C
				} else {
					convIm2col(&p, in, r0, r1, gi*cg, cg, oh, ow, buf)
					a, lda = buf, kdim
				}
				gemm.SgemmSerial(false, false, m, ocg, kdim, 1, a, lda,
					kernel[gi*ocg:], p.OutC, 0, out[r0*p.OutC+gi*ocg:], p.OutC)
			}
			convEpilogue(out[r0*p.OutC:r1*p.OutC], p.OutC, bias, act)
		}
	}
	var next atomic.Int64
	if workers == 1 {
		run(0, &next)
		return
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			run(w, &next)
		}()
	}
	run(0, &next)
	wg.Wait()
}

// convEpilogue adds bias to each c-wide row of y and applies act, one row at
// a time while the tile is in cache. Plain ReLU, by far the most common
// epilogue, is fused with the bias add and done without branches (random
// signs make Activation.Apply's compare-and-store mispredict about half the
// time).
func convEpilogue(y []float32, c int, bias []float32, act Activation) {
	plainReLU := act.Kind == ActReLU && act.NegativeSlope == 0 && act.Threshold == 0 && !act.HasMax
	switch {
	case bias == nil && act.IsLinear():
		return
	case bias == nil && plainReLU:
		for i, v := range y {
			y[i] = max(v, 0)
		}
		return
	}
	if bias != nil {
		bias = bias[:c]
	}
	for r := 0; r+c <= len(y); r += c {
		row := y[r : r+c]
		switch {
		case bias != nil && plainReLU:
			row = row[:len(bias)]
			for j, b := range bias {
				row[j] = max(row[j]+b, 0)
			}
		case bias != nil:
			row = row[:len(bias)]
			for j, b := range bias {
				row[j] += b
			}
			act.Apply(row)
		default:
			act.Apply(row)
		}
	}
}

// convIm2col writes the im2col rows of output pixels [r0, r1) (flat over
// N×OH×OW) for input channels [c0, c0+cg) into dst, one row of KH×KW×cg
// values (kh, kw, channel order, matching the HWIO kernel) per pixel, with
// zeros where the window falls into padding.
func convIm2col(p *ConvParams, in []float32, r0, r1, c0, cg, oh, ow int, dst []float32) {
	kdim := p.KH * p.KW * cg
	rowSpan := p.KW * cg // one kh's worth of a column row
	contiguous := cg == p.C && p.DilW == 1
	n, y, x := r0/(oh*ow), (r0/ow)%oh, r0%ow
	for r := r0; r < r1; r++ {
		d := dst[(r-r0)*kdim : (r-r0+1)*kdim]
		iy0, ix0 := y*p.StrideH-p.PadTop, x*p.StrideW-p.PadLeft
		img := in[n*p.H*p.W*p.C:]
		for kh := range p.KH {
			iy := iy0 + kh*p.DilH
			seg := d[kh*rowSpan : (kh+1)*rowSpan]
			if iy < 0 || iy >= p.H {
				clear(seg)
				continue
			}
			line := img[iy*p.W*p.C : (iy+1)*p.W*p.C]
			if contiguous {
				// The KW taps are adjacent pixels: one copy of the in-bounds run.
				lo := max(0, -ix0)
				hi := min(p.KW, p.W-ix0)
				if lo >= hi {
					clear(seg)
					continue
				}
				clear(seg[:lo*cg])
				copy(seg[lo*cg:hi*cg], line[(ix0+lo)*p.C:(ix0+hi)*p.C])
				clear(seg[hi*cg:])
				continue
			}
			for kw := range p.KW {
				ix := ix0 + kw*p.DilW
				s := seg[kw*cg : (kw+1)*cg]
				if ix < 0 || ix >= p.W {
					clear(s)
					continue
				}
				copy(s, line[ix*p.C+c0:ix*p.C+c0+cg])
			}
		}
		if x++; x == ow {
			x = 0
			if y++; y == oh {
				y = 0
				n++
			}
		}
	}
}

// RefConv2D is Conv2D written from the definition:
//
//	out[n,y,x,o] = act(bias[o] + Σ in[n, y*sh-pt+kh*dh, x*sw-pl+kw*dw, g*cg+ci]
//	                           * kernel[kh,kw,ci,o])   (g = o / (OutC/Groups))
//
// summed over kh, kw, ci with out-of-range input positions contributing 0.
func RefConv2D(p ConvParams, in, kernel, bias []float32, act Activation) []float32 {
	convCheck(p, in, kernel, bias, make([]float32, p.OutLen()))
	p = p.norm()
	oh, ow := p.OutH(), p.OutW()
	cg, ocg := p.C/p.Groups, p.OutC/p.Groups
	out := make([]float32, p.N*oh*ow*p.OutC)
	for n := range p.N {
		for y := range oh {
			for x := range ow {
				for o := range p.OutC {
					g := o / ocg
					var s float64
					if bias != nil {
						s = float64(bias[o])
					}
					for kh := range p.KH {
						for kw := range p.KW {
							iy := y*p.StrideH - p.PadTop + kh*p.DilH
							ix := x*p.StrideW - p.PadLeft + kw*p.DilW
							if iy < 0 || iy >= p.H || ix < 0 || ix >= p.W {
								continue
							}
							for ci := range cg {
								v := in[((n*p.H+iy)*p.W+ix)*p.C+g*cg+ci]
								k := kernel[((kh*p.KW+kw)*cg+ci)*p.OutC+o]
								s += float64(v) * float64(k)
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
