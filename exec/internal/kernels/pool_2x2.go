package kernels

import "github.com/kconv/kconv/exec/internal/par"

// 2×2 stride-2 unpadded pooling (VGG's and most CNNs' MaxPooling2D): every
// output pixel is the max or mean of two adjacent input pixels in each of
// two rows, i.e. of four C-runs, two of them contiguous. One output row is
// a single pass over two input rows; with AVX-512 and C a multiple of 16
// the channel runs go 16 at a time (pool_amd64.s).

// PoolIs2x2 reports whether p is a 2×2, stride-2, unpadded pooling whose
// output is the floor size: the pooling SmallConv.Conv2DPool2x2 fuses.
func PoolIs2x2(p PoolParams) bool {
	oh, ow := p.Out()
	return p.Validate() == nil && pool2x2Fits(&p, oh, ow)
}

// pool2x2Fits reports whether p is a 2×2, stride-2, unpadded window whose
// output is the floor size (the last row or column of an odd input is not
// covered).
func pool2x2Fits(p *PoolParams, oh, ow int) bool {
	return p.KH == 2 && p.KW == 2 && p.StrideH == 2 && p.StrideW == 2 &&
		p.PadTop == 0 && p.PadBottom == 0 && p.PadLeft == 0 && p.PadRight == 0 &&
		oh == p.H/2 && ow == p.W/2
}

// pool2x2SerialFloats: below this many input floats a call stays on the
// caller's goroutine.
const pool2x2SerialFloats = 128 << 10

// pool2x2Rows is the number of output rows in one parallel item.
const pool2x2Rows = 4

type pool2x2Run struct {
	dst, x []float32
	p      PoolParams
	oh, ow int
	rows   int
	isMax  bool
}

// pool2x2Runs holds idle pool2x2Runs (see scRuns).
var pool2x2Runs = make(chan *pool2x2Run, 8)

func pool2x2(dst, x []float32, p *PoolParams, oh, ow int, pl *par.Pool, isMax bool) {
	rows := p.N * oh
	if rows == 0 || ow == 0 || p.C == 0 {
		return
	}
	var r *pool2x2Run
	select {
	case r = <-pool2x2Runs:
	default:
		r = new(pool2x2Run)
	}
	*r = pool2x2Run{dst: dst, x: x, p: *p, oh: oh, ow: ow, rows: rows, isMax: isMax}
	workers := pl.Workers()
	if p.InLen() < pool2x2SerialFloats {
		workers = 1
	}
	pl.Do(workers, (rows+pool2x2Rows-1)/pool2x2Rows, r)
	*r = pool2x2Run{}
	select {
	case pool2x2Runs <- r:
	default:
	}
}

func (r *pool2x2Run) RunItem(_, it int) {
	p := &r.p
	c, wc := p.C, p.W*p.C
	for row := it * pool2x2Rows; row < min((it+1)*pool2x2Rows, r.rows); row++ {
		n, oy := row/r.oh, row%r.oh
		base := (n*p.H + 2*oy) * wc
		pool2x2Row(r.dst[row*r.ow*c:(row+1)*r.ow*c], r.x[base:base+wc], r.x[base+wc:base+2*wc], r.ow, c, r.isMax)
	}
}

// pool2x2Row pools input rows r0 and r1 (at least 2·ow pixels of c
// channels) into the ow pixels of o.
func pool2x2Row(o, r0, r1 []float32, ow, c int, isMax bool) {
	if pool2x2Asm(o, r0, r1, ow, c, isMax) {
		return
	}
	pool2x2Chans(o, r0, r1, ow, c, 0, c, isMax)
}

// pool2x2Chans is pool2x2Row, in Go, for channels [c0, c1) of each pixel
// only.
func pool2x2Chans(o, r0, r1 []float32, ow, c, c0, c1 int, isMax bool) {
	for ox := range ow {
		i := 2*ox*c + c0
		a, b := r0[i:i+c1-c0], r0[i+c:i+c+c1-c0]
		d, e := r1[i:i+c1-c0], r1[i+c:i+c+c1-c0]
		oo := o[ox*c+c0 : ox*c+c1]
		if isMax {
			for k := range oo {
				oo[k] = max(max(a[k], b[k]), max(d[k], e[k]))
			}
		} else {
			// avgPoolRows's order: ((a+b)+d)+e, then × 1/4.
			for k := range oo {
				oo[k] = (a[k] + b[k] + d[k] + e[k]) * 0.25
			}
		}
	}
}
