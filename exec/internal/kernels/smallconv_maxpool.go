package kernels

import "fmt"

// A convolution followed by a max pooling of any window, stride and
// padding (a CNN stem's 3×3 stride-2 MaxPool after its first convolution:
// ResNet, SqueezeNet, GoogLeNet, DenseNet, ShuffleNet), computed without
// storing the convolution's output: each item is a band of pooled rows,
// and computes the conv rows its windows cover strip by strip into the
// worker's scratch, then pools each strip from there with the MaxPool
// kernel itself (maxPoolRowsFast, or maxPoolRows without AVX-512): the
// same bits as Conv2D followed by MaxPool. Windows that overlap (a 3×3
// window at stride 2 shares a row with the next) share the conv rows
// within an item; the row a band's first window shares with the band
// before it is computed by both (items are two per worker at batch 1).

// mpStripFloats bounds a strip of conv rows in the worker's scratch: the
// rows stay in L2 until pooled. (A variable for tests: 0 makes strips of
// one pooled row.)
var mpStripFloats = 64 << 10

// MaxPoolFits reports whether Conv2DMaxPool computes pool after a
// convolution: a max pooling (any window, stride and padding; its OutH and
// OutW, when set, may add windows past the end, as ceil mode does) that
// MaxPool computes.
func MaxPoolFits(pool PoolParams) bool {
	if pool.N == 0 {
		pool.N = 1
	}
	oh, ow := pool.Out()
	return pool.Validate() == nil && oh > 0 && ow > 0
}

// SmallConvMaxPoolPays reports whether Conv2DMaxPool is expected to beat
// Conv2D and a MaxPool step on p: where its packed weights stay in cache
// (scCacheBytes). Every band of pooled rows reads all the weights, and a
// late layer's megabytes of weights read per band cost more than the
// pooling pass saves. Xeon, two threads, fused against apart: AlexNet's
// 13²×256→256 3×3 with its 3×3/2 pooling (2.4 MB of weights) 1.06 / 0.68
// ms, its 27²×64→192 5×5 (1.2 MB) 2.0 / 1.75; Inception-v3's 147²×32→64
// 3×3 direct (74 KB) 2.99 / 3.33.
func SmallConvMaxPoolPays(p ConvParams) bool {
	q := p.norm()
	blocks := q.Groups * ((q.OutC/q.Groups + 31) / 32)
	return 4*q.KH*q.KW*(q.C/q.Groups)*32*blocks <= scCacheBytes
}

// Conv2DMaxPool computes MaxPool(pool) of Conv2D's result (act(conv(in) +
// bias)) without storing that result: pool's N, H, W and C must be the
// convolution's output geometry, and out holds pool's output. The Winograd
// path is not taken.
func (s *SmallConv) Conv2DMaxPool(p ConvParams, pool PoolParams, in, bias []float32, act Activation, out []float32, ws *Workspace) {
	s.check(p, in, bias)
	s.runMaxPool(p, pool, scInput{ldi: p.C}, in, bias, act, out, ws)
}

// Conv2DNCHWMaxPool is Conv2DMaxPool with the input in channels-first
// storage, as Conv2DNCHW reads it (the pooled output is channels-last).
func (s *SmallConv) Conv2DNCHWMaxPool(p ConvParams, pool PoolParams, in, bias []float32, act Activation, out []float32, ws *Workspace) {
	s.check(p, in, bias)
	s.runMaxPool(p, pool, scInput{ldi: p.C, nchw: true}, in, bias, act, out, ws)
}

func (s *SmallConv) runMaxPool(p ConvParams, pool PoolParams, how scInput, in, bias []float32, act Activation, out []float32, ws *Workspace) {
	if pool.N != p.N || pool.H != s.oh || pool.W != s.ow || pool.C != p.OutC || !MaxPoolFits(pool) {
		panic(fmt.Sprintf("kernels: max pooling %+v does not fit the convolution %+v", pool, p))
	}
	oh, ow := pool.Out()
	convCheckLen("pooled conv output", out, p.N*oh*ow*p.OutC)
	pool.N, pool.OutH, pool.OutW = 1, oh, ow
	s.runAll(p, in, how, bias, nil, act, 0, &pool, out, p.OutC, ws)
}

// mpConvRows is how many conv rows (of oh) rows consecutive pooled rows
// read at most.
func mpConvRows(mp *PoolParams, oh, rows int) int {
	return max(1, min(oh, (rows-1)*mp.StrideH+mp.KH))
}

// mpStripRows is the pooled rows of a strip: as many as keep the strip's
// conv rows (rowFloats each) within mpStripFloats, at least one.
func mpStripRows(mp *PoolParams, oh, rowFloats int) int {
	r := 1
	for mpConvRows(mp, oh, r+1)*rowFloats <= mpStripFloats && r < mp.OutH {
		r++
	}
	return r
}

// runMaxPooled computes pooled rows [y0, y1) of image n on worker w.
func (r *scRun) runMaxPooled(w, n, y0, y1 int) {
	s, p, mp := r.s, &r.p, &r.mp
	rowF := s.ow * p.OutC
	sr := mpStripRows(mp, s.oh, rowF)
	buf := r.pairs[w*r.pairLen : (w+1)*r.pairLen]
	scr := buf[len(buf)-rowF:] // maxPoolRowsFast's row
	// The conv rows of the item's windows, and the input rows they read.
	cy0 := max(0, y0*mp.StrideH-mp.PadTop)
	cy1 := min(s.oh, (y1-1)*mp.StrideH-mp.PadTop+mp.KH)
	var band []float32
	if cy1 > cy0 {
		band = r.band(w, n, cy0, cy1)
	}
	rowLen := s.wp * p.C
	pw := mp.OutW
	have0, have1 := 0, 0 // conv rows [have0, have1) are in buf, from its start
	for pa := y0; pa < y1; pa += sr {
		pb := min(pa+sr, y1)
		cs := max(0, pa*mp.StrideH-mp.PadTop)
		ce := max(cs, min(s.oh, (pb-1)*mp.StrideH-mp.PadTop+mp.KH))
		if cs >= have0 && cs < have1 { // rows the strip before computed
			copy(buf, buf[(cs-have0)*rowF:(have1-have0)*rowF])
			have0 = cs
		} else {
			have0, have1 = cs, cs
		}
		for y := have1; y < ce; y++ {
			dst := buf[(y-cs)*rowF : (y-cs+1)*rowF]
			src := band[(y-cy0)*p.StrideH*rowLen:]
			for bi := range s.blocks {
				r.rowBlock(bi, src, dst, nil)
			}
			r.rowEpilogue(n, y, 0, len(s.blocks), dst)
		}
		have1 = ce
		// The strip's windows over its conv rows: pooled row pa's
		// window starts PadTop' rows above the strip's first row.
		q := *mp
		q.H, q.PadTop, q.PadBottom, q.OutH = ce-cs, cs+mp.PadTop-pa*mp.StrideH, 0, pb-pa
		dst := r.out[(n*mp.OutH+pa)*pw*p.OutC : (n*mp.OutH+pb)*pw*p.OutC]
		x := buf[:(ce-cs)*rowF]
		if maxPoolFastOK(&q) {
			maxPoolRowsFast(dst, x, &q, q.OutH, pw, 0, q.OutH, scr)
		} else {
			maxPoolRows(dst, x, &q, q.OutH, pw, 0, q.OutH)
		}
	}
}
