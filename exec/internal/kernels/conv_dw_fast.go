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
	j := &dwJob{p: &p, in: in, kernel: kernel, bias: bias, out: out, oh: oh, ow: ow, act: act}
	var fused bool
	if j.lo, j.hi, fused = act.clampBounds(); fused {
		j.act = Activation{}
	} else {
		inf := float32(math.Inf(1))
		j.lo, j.hi = -inf, inf
	}
	pool := ws.Par()
	workers := pool.Workers()
	if int64(rows)*int64(ow*p.C*p.KH*p.KW) < dwParMin {
		workers = 1
	}
	// A few items per worker, so that one whose core is taken by another
	// process takes fewer.
	items := min(rows, 4*workers)
	j.chunk = (rows + items - 1) / items
	items = (rows + j.chunk - 1) / j.chunk
	j.rows = rows
	pool.Do(workers, items, j)
}

// dwJob is one dwFast call, split into chunks of output rows.
type dwJob struct {
	p                *ConvParams
	in, kernel, bias []float32
	out              []float32
	oh, ow           int
	lo, hi           float32
	act              Activation // applied after each row (non-clamp kinds)
	rows, chunk      int
}

func (j *dwJob) RunItem(_, item int) {
	for r := item * j.chunk; r < min((item+1)*j.chunk, j.rows); r++ {
		j.row(r)
	}
}

// row computes output row r (flat over N×OH).
func (j *dwJob) row(r int) {
	p := j.p
	c := p.C
	n, y := r/j.oh, r%j.oh
	img := j.in[n*p.H*p.W*c : (n+1)*p.H*p.W*c]
	orow := j.out[r*j.ow*c : (r+1)*j.ow*c]
	var biasp *float32
	if j.bias != nil {
		biasp = &j.bias[0]
	}
	tail := uint64(0xFFFF)
	if c%16 != 0 {
		tail = 1<<(c%16) - 1
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
				taps[2*nt] = (iy*p.W + ix) * cb
				taps[2*nt+1] = (kh*p.KW + kw) * cb
				nt++
			}
		}
		if nt == 0 { // the window lies wholly in the padding
			for x := x0; x < x1; x++ {
				d := orow[x*c : (x+1)*c]
				if j.bias != nil {
					copy(d, j.bias)
				} else {
					clear(d)
				}
				for i, v := range d {
					d[i] = min(max(v, j.lo), j.hi)
				}
			}
			return
		}
		dwRowAVX512(&orow[x0*c], &img[0], &j.kernel[0], biasp, x1-x0, p.StrideW*cb, cb,
			&taps[0], nt, cb, tail, j.lo, j.hi)
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
	if !j.act.IsLinear() {
		j.act.ApplyFast(orow)
	}
}

// floorDiv is ⌊a/b⌋ for b > 0.
func floorDiv(a, b int) int {
	if a >= 0 {
		return a / b
	}
	return -((-a + b - 1) / b)
}
