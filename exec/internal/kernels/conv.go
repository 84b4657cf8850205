package kernels

import (
	"fmt"
	"sync/atomic"
	"unsafe"

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

// convColBudget bounds one worker's im2col buffer and convOutBudget its
// output tile (which the epilogue revisits), in floats. The single-threaded
// OpenBLAS GEMM of a tile loses efficiency as its row count m drops (it
// re-packs the whole kernel matrix per call: overhead ~1/m), so tiles keep
// at least convMinRows rows even if that overshoots the column budget, but
// never by more than 4× (K = 9*512: 227 rows fit in 4 MiB; K = 9*2048 gets
// 128 rows = 9 MiB). Tuned on VGG16's layers: 4 MiB beat 2 MiB by ~5-15% on
// the 28×28 and 14×14 layers and tied elsewhere; 8 MiB lost ~20% on the
// 224×224×64 layer.
const (
	convColBudget = 1 << 20   // 4 MiB
	convOutBudget = 256 << 10 // 1 MiB
	convMinRows   = 128
)

// Conv2D computes out = act(conv(in, kernel) + bias) over NHWC in and out
// with an HWIO kernel; bias (OutC values) may be nil.
//
// It runs im2col + GEMM over tiles of output pixels (across the whole
// batch), so the column buffer stays within a fixed budget per worker, and
// fuses bias and activation into each tile right after its GEMM. 1×1
// stride-1 unpadded convs skip im2col: the input is the GEMM operand. Tiles
// are shared out among the workers of ws.Par(), each calling the
// single-threaded GEMM (the gemm package's threading rule).
func Conv2D(p ConvParams, in, kernel, bias []float32, act Activation, out []float32, ws *Workspace) {
	convCheck(p, in, kernel, bias, out)
	conv2D(p, in, kernel, bias, act, out, p.OutC, ws)
}

// Conv2DStrided is Conv2D writing output pixel i's OutC channels at
// out[i*ldo:] (ldo ≥ OutC; out holds StridedLen(pixels, OutC, ldo) floats
// and the floats between pixels are not touched): a convolution writing
// its channels straight into a wider channel concatenation. The GEMM
// writes the tiles with leading dimension ldo; nothing is copied.
func Conv2DStrided(p ConvParams, in, kernel, bias []float32, act Activation, out []float32, ldo int, ws *Workspace) {
	if err := p.Validate(); err != nil {
		panic(err)
	}
	convCheckLen("conv input", in, p.InLen())
	convCheckLen("conv kernel", kernel, p.KernelLen())
	stridedCheck("conv output", out, p.N*p.OutH()*p.OutW(), p.OutC, ldo)
	if bias != nil {
		convCheckLen("conv bias", bias, p.OutC)
	}
	conv2D(p, in, kernel, bias, act, out, ldo, ws)
}

func conv2D(p ConvParams, in, kernel, bias []float32, act Activation, out []float32, ldo int, ws *Workspace) {
	p = p.norm()
	oh, ow := p.OutH(), p.OutW()
	rows := p.N * oh * ow
	if rows == 0 {
		return
	}
	kdim := p.KH * p.KW * (p.C / p.Groups)
	direct := p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 &&
		p.PadTop == 0 && p.PadBottom == 0 && p.PadLeft == 0 && p.PadRight == 0

	workers := ws.Par().Workers()
	// Tile rows: as many as both budgets allow (at least convMinRows), then
	// evened out so the tile count is a multiple of the worker count.
	tileMax := max(convMinRows, min(convOutBudget/p.OutC, convColBudget/kdim))
	// ... but never past 4× the column budget (huge K, e.g. 3×3×2048).
	tileMax = min(tileMax, max(8, 4*convColBudget/kdim))
	if direct {
		tileMax = max(convMinRows, convOutBudget/p.OutC)
	}
	ntiles := (rows + tileMax - 1) / tileMax
	if rows >= convMinRows { // worth splitting: each worker gets >= convMinRows/2 rows
		ntiles = (max(ntiles, workers) + workers - 1) / workers * workers
	}
	tile := (rows + ntiles - 1) / ntiles
	ntiles = (rows + tile - 1) / tile
	workers = min(workers, ntiles)

	var col []float32
	if !direct {
		col = ws.Get(workers * tile * kdim)
	}
	if workers == 1 {
		for t := range ntiles {
			r0 := t * tile
			convTile(&p, in, kernel, bias, out, col, act, r0, min(r0+tile, rows), oh, ow, ldo, direct)
		}
		return
	}
	r := &convRun{p: p, in: in, kernel: kernel, bias: bias, out: out, col: col, act: act,
		oh: oh, ow: ow, rows: rows, tile: tile, ntiles: ntiles, ldo: ldo, direct: direct}
	ws.Par().Do(workers, workers, r)
}

// convRun is the state of one parallel im2col Conv2D call, shared by its
// workers (the serial path calls convTile directly and allocates nothing).
type convRun struct {
	p                          ConvParams
	in, kernel, bias, out, col []float32
	act                        Activation
	oh, ow, rows, tile, ntiles int
	ldo                        int // output pixel stride
	direct                     bool
	next                       atomic.Int64
}

// RunItem is worker item's share: tiles taken from the shared counter until
// none is left, im2col'ed into the item's own column buffer.
func (r *convRun) RunItem(_, item int) {
	var buf []float32
	if !r.direct {
		kdim := r.p.KH * r.p.KW * (r.p.C / r.p.Groups)
		buf = r.col[item*r.tile*kdim : (item+1)*r.tile*kdim]
	}
	for {
		t := int(r.next.Add(1)) - 1
		if t >= r.ntiles {
			return
		}
		r0 := t * r.tile
		convTile(&r.p, r.in, r.kernel, r.bias, r.out, buf, r.act, r0, min(r0+r.tile, r.rows), r.oh, r.ow, r.ldo, r.direct)
	}
}

// convTile computes output rows [r0, r1) (flat over N×OH×OW): bias, one
// GEMM per group (im2col'ed into buf unless direct), then the activation.
// Output rows are ldo floats apart.
func convTile(p *ConvParams, in, kernel, bias, out, buf []float32, act Activation, r0, r1, oh, ow, ldo int, direct bool) {
	cg, ocg := p.C/p.Groups, p.OutC/p.Groups
	kdim := p.KH * p.KW * cg
	m := r1 - r0
	y := out[r0*ldo : (r1-1)*ldo+p.OutC]
	var beta float32
	if bias != nil {
		if ldo == p.OutC {
			convBiasFill(y, p.OutC, bias)
		} else {
			for r := 0; r < m; r++ {
				copy(y[r*ldo:r*ldo+p.OutC], bias[:p.OutC])
			}
		}
		beta = 1
	}
	for gi := range p.Groups {
		var a []float32
		var lda int
		if direct {
			a, lda = in[r0*p.C+gi*cg:], p.C
		} else {
			convIm2col(p, in, r0, r1, gi*cg, cg, oh, ow, buf)
			a, lda = buf, kdim
		}
		gemm.SgemmSerial(false, false, m, ocg, kdim, 1, a, lda,
			kernel[gi*ocg:], p.OutC, beta, y[gi*ocg:], ldo)
	}
	if ldo == p.OutC {
		convAct(y, act)
		return
	}
	for r := 0; r < m; r++ {
		convAct(y[r*ldo:r*ldo+p.OutC], act)
	}
}

// convBiasFill sets every c-wide row of y to bias, so the GEMM can
// accumulate onto it (beta = 1): that fuses the bias add and saves the pass
// in which the GEMM would otherwise zero its output.
func convBiasFill(y []float32, c int, bias []float32) {
	bias = bias[:c]
	for r := 0; r+c <= len(y); r += c {
		copy(y[r:r+c], bias)
	}
}

// convAct applies act to y in place. Plain ReLU, by far the most common
// epilogue, runs branch-free on the float bits two at a time (Activation's
// compare-and-store mispredicts on about half of random-signed inputs); it
// maps every value with the sign bit set, -0 and negative NaNs included,
// to +0.
func convAct(y []float32, act Activation) {
	if act.IsLinear() {
		return
	}
	if act.Kind == ActReLU && act.NegativeSlope == 0 && act.Threshold == 0 && !act.HasMax {
		convReLUBits(y)
		return
	}
	act.ApplyFast(y)
}

// convActPar is convAct split over ws's workers, in chunks of whole
// vectors (each element takes the same path as in one call), for an
// activation that costs more than a pass over memory (GELU, sigmoid,
// swish: ~10-40 operations an element); the rest run as convAct does.
// ConvNeXt-T's MLP Dense layers with GELU at batch 1 on two threads: the
// 56²×384 outputs' GELU took 2.3 ms on one core after each GEMM.
func convActPar(y []float32, act Activation, ws *Workspace) {
	w := 1
	if k, _, _, ok := act.simdAct(); !ok || k != simdClamp {
		w = parChunks(ws.Par().Workers(), len(y)/16, 16*16)
	}
	if w == 1 {
		convAct(y, act)
		return
	}
	vecChunks(ws.Par(), w, len(y), func(lo, hi int) { convAct(y[lo:hi], act) })
}

func convReLUBits(y []float32) {
	if len(y) == 0 {
		return
	}
	if uintptr(unsafe.Pointer(&y[0]))%8 != 0 {
		y[0] = max(y[0], 0)
		y = y[1:]
	}
	if len(y) < 2 { // no word to view (and an empty y's data may lie past its array)
		if len(y) == 1 {
			y[0] = max(y[0], 0)
		}
		return
	}
	w := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(y))), len(y)/2)
	// Bit 31 and bit 63 are the two sign bits; multiplying them by
	// 0xFFFFFFFF smears each over its own 32-bit half.
	const lo1, ones = 0x0000000100000001, 0xFFFFFFFF
	i := 0
	for ; i+4 <= len(w); i += 4 {
		q := w[i : i+4 : i+4]
		v0, v1, v2, v3 := q[0], q[1], q[2], q[3]
		q[0] = v0 &^ (v0 >> 31 & lo1 * ones)
		q[1] = v1 &^ (v1 >> 31 & lo1 * ones)
		q[2] = v2 &^ (v2 >> 31 & lo1 * ones)
		q[3] = v3 &^ (v3 >> 31 & lo1 * ones)
	}
	for ; i < len(w); i++ {
		w[i] &^= w[i] >> 31 & lo1 * ones
	}
	if len(y)%2 == 1 {
		y[len(y)-1] = max(y[len(y)-1], 0)
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
				if rowSpan <= 32 {
					// Short runs (few input channels): a plain loop beats
					// memmove's call overhead.
					src := line[(ix0+lo)*p.C : (ix0+hi)*p.C]
					for i := range seg[:lo*cg] {
						seg[i] = 0
					}
					dst := seg[lo*cg : hi*cg]
					for i := range dst {
						dst[i] = src[i]
					}
					for i := range seg[hi*cg:] {
						seg[hi*cg+i] = 0
					}
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
