package kernels

import "math"

// dwMaxTaps bounds the window of the vector depthwise kernel (7×7 and
// below; larger windows take dwRows).
const dwMaxTaps = 49

// dwParMin is the multiply-add count below which a depthwise layer runs on
// one worker (see Workspace.Pool).
const dwParMin = 1 << 16

// dwFastOK reports whether dwFast computes p: channel multiplier 1, a
// window of at most dwMaxTaps taps, and the vector kernel present.
func dwFastOK(p *ConvParams) bool {
	return simdAVX512() && p.OutC == p.C && p.KH*p.KW <= dwMaxTaps
}

// dwFast is DepthwiseConv2D for channel multiplier 1 on the vector kernel
// (conv_dw_amd64.s): per output row, the in-range taps' offsets are
// listed once; pixels whose window lies inside the image run as one
// stretch, border pixels one by one with their own taps. Bias and clamp
// activations (ReLU, ReLU6, Clip) are fused into the stores; other
// activations run over each row right after it is written, while it is
// in cache. Rows are shared out on ws.Par().
func dwFast(p ConvParams, in, kernel, bias []float32, act Activation, out []float32, ws *Workspace) {
	oh, ow := p.OutH(), p.OutW()
	rows := p.N * oh
	if rows == 0 || ow == 0 {
		return
	}
	j := &dwJob{p: &p, in: in, kernel: kernel, bias: bias, out: out, oh: oh, ow: ow}
	j.setAct(act)
	pool := ws.Par()
	workers := pool.Workers()
	if int64(rows)*int64(ow*p.C*p.KH*p.KW) < dwParMin {
		workers = 1
	}
	j.rows = rows
	j.chunks, j.groups = dwSplit(rows, (p.C+15)/16, workers)
	pool.Do(workers, j.chunks*j.groups, j)
}

// dwSplit splits a depthwise layer of rows output rows and nblk blocks of
// 16 channels into chunks of rows times groups of channel blocks for
// workers: a few items per worker, so that one whose core is taken by
// another process takes fewer, all of one size, so that none is left
// waiting on the last: a late layer's 7 or 14 rows in 8 items of one or
// two rows left one worker four items and the other three (7×7×1152 5×5
// took 0.055 ms on two threads, 0.084 on one). Where the rows are fewer
// than the items wanted, each row splits into channel groups.
func dwSplit(rows, nblk, workers int) (chunks, groups int) {
	if workers <= 1 {
		return 1, 1
	}
	want := 4 * workers
	if rows >= want {
		return want, 1
	}
	return rows, min(nblk, (want+rows-1)/rows)
}

// dwJob is one dwFast call, split into chunks of output rows (balanced:
// chunk i is rows [i·rows/chunks, (i+1)·rows/chunks)) times groups of
// channel blocks.
type dwJob struct {
	p                *ConvParams
	in, kernel, bias []float32
	out              []float32
	oh, ow           int
	lo, hi           float32
	act              Activation // applied after each row (non-clamp kinds)
	rows             int
	chunks, groups   int
}

// setAct sets the job's activation: a clamp goes into the stores (lo,
// hi), any other kind runs over each row after it is written.
func (j *dwJob) setAct(act Activation) {
	if lo, hi, fused := act.clampBounds(); fused {
		j.lo, j.hi, j.act = lo, hi, Activation{}
		return
	}
	inf := float32(math.Inf(1))
	j.lo, j.hi, j.act = -inf, inf, act
}

func (j *dwJob) RunItem(_, item int) {
	ci, g := item/j.groups, item%j.groups
	nblk := (j.p.C + 15) / 16
	c0, c1 := g*nblk/j.groups*16, min(j.p.C, (g+1)*nblk/j.groups*16)
	c := j.p.C
	for r := ci * j.rows / j.chunks; r < (ci+1)*j.rows/j.chunks; r++ {
		n := r / j.oh
		j.row(j.in[n*j.p.H*j.p.W*c:(n+1)*j.p.H*j.p.W*c], 0, r%j.oh, j.out[r*j.ow*c:(r+1)*j.ow*c], c0, c1)
	}
}

// row computes channels [c0, c1) of output row y of one image into orow
// from img: the image, or with ring > 0 a ring of ring input rows, row iy
// at iy mod ring (ConvDepthwise).
func (j *dwJob) row(img []float32, ring, y int, orow []float32, c0, c1 int) {
	p := j.p
	c := p.C
	var biasp *float32
	if j.bias != nil {
		biasp = &j.bias[c0]
	}
	tail := uint64(0xFFFF)
	if (c1-c0)%16 != 0 {
		tail = 1<<((c1-c0)%16) - 1
	}
	cb := 4 * c
	// Pixels x in [xa, xb) have every column tap inside the image.
	xa := (p.PadLeft + p.StrideW - 1) / p.StrideW
	xb := min(j.ow, max(xa, floorDiv(p.W-1+p.PadLeft-(p.KW-1)*p.DilW, p.StrideW)+1))
	var taps [2 * dwMaxTaps]int
	// pixel computes pixels [x0, x1) whose column taps are those in range
	// for x0 (all of them in the interior stretch).
	pixel := func(x0, x1 int) {
		nt := 0
		for kh := range p.KH {
			iy := y*p.StrideH - p.PadTop + kh*p.DilH
			if iy < 0 || iy >= p.H {
				continue
			}
			for kw := range p.KW {
				ix := x0*p.StrideW - p.PadLeft + kw*p.DilW
				if ix < 0 || ix >= p.W {
					continue
				}
				at := iy
				if ring > 0 {
					at = iy % ring
				}
				taps[2*nt] = (at*p.W + ix) * cb
				taps[2*nt+1] = (kh*p.KW + kw) * cb
				nt++
			}
		}
		if nt == 0 { // the window lies wholly in the padding
			for x := x0; x < x1; x++ {
				d := orow[x*c+c0 : x*c+c1]
				if j.bias != nil {
					copy(d, j.bias[c0:c1])
				} else {
					clear(d)
				}
				for i, v := range d {
					d[i] = min(max(v, j.lo), j.hi)
				}
			}
			return
		}
		dwRowAVX512(&orow[x0*c+c0], &img[c0], &j.kernel[c0], biasp, x1-x0, p.StrideW*cb, cb,
			&taps[0], nt, 4*(c1-c0), tail, j.lo, j.hi)
	}
	for x := 0; x < min(xa, j.ow); x++ {
		pixel(x, x+1)
	}
	if xa < xb {
		pixel(xa, xb)
	}
	for x := max(xa, xb); x < j.ow; x++ {
		pixel(x, x+1)
	}
	switch {
	case j.act.IsLinear():
	case c0 == 0 && c1 == c:
		j.act.ApplyFast(orow)
	default: // the item's channels of each pixel
		j.act.applyRows(orow[c0:], c1-c0, j.ow, c)
	}
}

// floorDiv is ⌊a/b⌋ for b > 0.
func floorDiv(a, b int) int {
	if a >= 0 {
		return a / b
	}
	return -((-a + b - 1) / b)
}
