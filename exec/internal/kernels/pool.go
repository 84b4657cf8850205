package kernels

import (
	"errors"
	"fmt"
	"math"
)

// PoolParams describes a 2-D pooling window over an NHWC tensor.
//
// Output cell (oy, ox) covers input rows oy*StrideH-PadTop+[0, KH) and
// columns ox*StrideW-PadLeft+[0, KW). Any part of a window outside the input
// [0,H)×[0,W) is padding, whether it lies in the explicit pads or beyond them
// (the ceil_mode overhang). OutH and OutW, when non-zero, are taken as given
// (the caller computes Keras "same"/"valid" or ONNX ceil_mode sizes, see
// SamePadding and PoolOutSize); when zero they are
// floor((H+PadTop+PadBottom-KH)/StrideH)+1 and likewise for W.
//
// MaxPool ignores padding (it behaves as -Inf) and propagates NaN (Go's
// built-in max). AvgPool divides the sum of the
// input cells in the window by:
//   - CountIncludePad false (Keras "same", ONNX count_include_pad=0): the
//     number of window cells inside the input;
//   - CountIncludePad true (ONNX count_include_pad=1): the number of window
//     cells inside the explicitly padded extent
//     [-PadTop, H+PadBottom) × [-PadLeft, W+PadRight); cells of the ceil_mode
//     overhang beyond the explicit pads are never counted (as ONNX Runtime
//     and PyTorch do).
//
// A window with no input cell gives -Inf for MaxPool and 0 for AvgPool.
type PoolParams struct {
	N, H, W, C                           int
	KH, KW                               int
	StrideH, StrideW                     int
	PadTop, PadBottom, PadLeft, PadRight int
	OutH, OutW                           int
	CountIncludePad                      bool
}

// Out returns the output height and width.
func (p PoolParams) Out() (oh, ow int) {
	oh, ow = p.OutH, p.OutW
	if oh == 0 && p.StrideH > 0 {
		oh = poolFloorOut(p.H+p.PadTop+p.PadBottom, p.KH, p.StrideH)
	}
	if ow == 0 && p.StrideW > 0 {
		ow = poolFloorOut(p.W+p.PadLeft+p.PadRight, p.KW, p.StrideW)
	}
	return oh, ow
}

func poolFloorOut(padded, k, s int) int {
	if padded < k {
		return 0
	}
	return (padded-k)/s + 1
}

// InLen and OutLen are the element counts of the input and output tensors.
func (p PoolParams) InLen() int { return p.N * p.H * p.W * p.C }

// OutLen is the element count of the output tensor N×OutH×OutW×C.
func (p PoolParams) OutLen() int {
	oh, ow := p.Out()
	return p.N * oh * ow * p.C
}

// Validate checks that the parameters are usable.
func (p PoolParams) Validate() error {
	switch {
	case p.N < 0 || p.H < 0 || p.W < 0 || p.C < 0:
		return fmt.Errorf("kernels: pool: negative input dims %dx%dx%dx%d", p.N, p.H, p.W, p.C)
	case p.KH < 1 || p.KW < 1:
		return fmt.Errorf("kernels: pool: kernel %dx%d", p.KH, p.KW)
	case p.StrideH < 1 || p.StrideW < 1:
		return fmt.Errorf("kernels: pool: stride %dx%d", p.StrideH, p.StrideW)
	case p.PadTop < 0 || p.PadBottom < 0 || p.PadLeft < 0 || p.PadRight < 0:
		return errors.New("kernels: pool: negative padding")
	case p.OutH < 0 || p.OutW < 0:
		return errors.New("kernels: pool: negative output size")
	}
	return nil
}

func (p PoolParams) mustValid(dst, x []float32) (oh, ow int) {
	if err := p.Validate(); err != nil {
		panic(err)
	}
	oh, ow = p.Out()
	shapeCheckLen("pool input", x, p.InLen())
	shapeCheckLen("pool output", dst, p.N*oh*ow*p.C)
	return oh, ow
}

// SamePadding returns the output size and the begin/end padding of Keras and
// TensorFlow "same" padding: out = ceil(in/s), total padding
// max((out-1)*s+k-in, 0), with the odd cell at the end.
func SamePadding(in, k, s int) (out, begin, end int) {
	out = (in + s - 1) / s
	total := (out-1)*s + k - in
	if total < 0 {
		total = 0
	}
	return out, total / 2, total - total/2
}

// PoolOutSize returns the ONNX pooling output size for an input of size in
// with kernel k, stride s and explicit pads: floor((in+pads-k)/s)+1, or with
// ceilMode ceil((in+pads-k)/s)+1 minus one if the last window would start
// inside the end padding (the rule ONNX Runtime and PyTorch apply).
func PoolOutSize(in, k, s, padBegin, padEnd int, ceilMode bool) int {
	span := in + padBegin + padEnd - k
	if span < 0 {
		return 0
	}
	if !ceilMode {
		return span/s + 1
	}
	out := (span+s-1)/s + 1
	if (out-1)*s >= in+padBegin {
		out--
	}
	return out
}

// poolSpan clips the window [start, start+k) to [lo, hi) and returns the
// clipped bounds.
func poolSpan(start, k, lo, hi int) (int, int) {
	a, b := start, start+k
	if a < lo {
		a = lo
	}
	if b > hi {
		b = hi
	}
	if b < a {
		b = a
	}
	return a, b
}

// MaxPool writes the max pooling of x into dst (N×OutH×OutW×C). It splits
// its work on ws.Par() and takes its scratch from ws.
func MaxPool(dst, x []float32, p PoolParams, ws *Workspace) {
	pl := ws.Par()
	oh, ow := p.mustValid(dst, x)
	if pool2x2Fits(&p, oh, ow) {
		pool2x2(dst, x, &p, oh, ow, pl, true)
		return
	}
	rows := p.N * oh
	per := ow * p.KH * p.KW * p.C
	w := parChunks(pl.Workers(), rows, per)
	if !maxPoolFastOK(&p) {
		if w == 1 {
			maxPoolRows(dst, x, &p, oh, ow, 0, rows)
			return
		}
		pp := new(PoolParams)
		*pp = p
		parRange(pl, rows, per, func(lo, hi int) { maxPoolRows(dst, x, pp, oh, ow, lo, hi) })
		return
	}
	sl := maxPoolScratch(&p)
	scratch := ws.Get(w * sl)
	if w == 1 {
		maxPoolRowsFast(dst, x, &p, oh, ow, 0, rows, scratch)
		return
	}
	j := &maxPoolJob{dst: dst, x: x, p: p, oh: oh, ow: ow, rows: rows, chunks: w, scratch: scratch, sl: sl}
	pl.Do(w, w, j)
}

// maxPoolJob is a parallel MaxPool on the vector kernel: chunk it of
// the output rows, with worker w's scratch.
type maxPoolJob struct {
	dst, x       []float32
	p            PoolParams
	oh, ow, rows int
	chunks, sl   int
	scratch      []float32
}

func (j *maxPoolJob) RunItem(w, it int) {
	lo, hi := it*j.rows/j.chunks, (it+1)*j.rows/j.chunks
	maxPoolRowsFast(j.dst, j.x, &j.p, j.oh, j.ow, lo, hi, j.scratch[w*j.sl:(w+1)*j.sl])
}

// AvgPool writes the average pooling of x into dst; see PoolParams for the
// divisor. It splits its work on ws.Par() and takes its scratch from ws.
func AvgPool(dst, x []float32, p PoolParams, ws *Workspace) {
	pl := ws.Par()
	oh, ow := p.mustValid(dst, x)
	if pool2x2Fits(&p, oh, ow) {
		pool2x2(dst, x, &p, oh, ow, pl, false)
		return
	}
	rows := p.N * oh
	per := ow * p.KH * p.KW * p.C
	if avgPoolFastOK(&p) {
		recip := avgPoolRecip(ws.Get(p.KH*p.KW*p.C), p.C)
		if parChunks(pl.Workers(), rows, per) == 1 {
			avgPoolRowsFast(dst, x, &p, oh, ow, 0, rows, recip)
			return
		}
		pp := new(PoolParams)
		*pp = p
		parRange(pl, rows, per, func(lo, hi int) { avgPoolRowsFast(dst, x, pp, oh, ow, lo, hi, recip) })
		return
	}
	if parChunks(pl.Workers(), rows, per) == 1 {
		avgPoolRows(dst, x, &p, oh, ow, 0, rows)
		return
	}
	pp := new(PoolParams)
	*pp = p
	parRange(pl, rows, per, func(lo, hi int) { avgPoolRows(dst, x, pp, oh, ow, lo, hi) })
}

// maxPoolRows computes output rows [lo, hi) of the flattened N×OutH range.
func maxPoolRows(dst, x []float32, p *PoolParams, oh, ow, lo, hi int) {
	C, W := p.C, p.W
	negInf := float32(math.Inf(-1))
	for r := lo; r < hi; r++ {
		n, oy := r/oh, r%oh
		y0, y1 := poolSpan(oy*p.StrideH-p.PadTop, p.KH, 0, p.H)
		img := x[n*p.H*W*C : (n+1)*p.H*W*C]
		orow := dst[r*ow*C : (r+1)*ow*C]
		for ox := 0; ox < ow; ox++ {
			x0, x1 := poolSpan(ox*p.StrideW-p.PadLeft, p.KW, 0, W)
			o := orow[ox*C : ox*C+C]
			if y0 == y1 || x0 == x1 {
				for c := range o {
					o[c] = negInf
				}
				continue
			}
			copy(o, img[(y0*W+x0)*C:(y0*W+x0)*C+C])
			for iy := y0; iy < y1; iy++ {
				rowBase := iy * W * C
				for ix := x0; ix < x1; ix++ {
					if iy == y0 && ix == x0 {
						continue
					}
					in := img[rowBase+ix*C : rowBase+ix*C+C]
					in = in[:len(o)]
					for c, v := range in {
						o[c] = max(o[c], v)
					}
				}
			}
		}
	}
}

func avgPoolRows(dst, x []float32, p *PoolParams, oh, ow, lo, hi int) {
	C, W := p.C, p.W
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
		for ox := 0; ox < ow; ox++ {
			xs := ox*p.StrideW - p.PadLeft
			x0, x1 := poolSpan(xs, p.KW, 0, W)
			cx := x1 - x0
			if p.CountIncludePad {
				a, b := poolSpan(xs, p.KW, -p.PadLeft, W+p.PadRight)
				cx = b - a
			}
			o := orow[ox*C : ox*C+C]
			if y0 == y1 || x0 == x1 || cy*cx == 0 {
				for c := range o {
					o[c] = 0
				}
				continue
			}
			copy(o, img[(y0*W+x0)*C:(y0*W+x0)*C+C])
			for iy := y0; iy < y1; iy++ {
				rowBase := iy * W * C
				for ix := x0; ix < x1; ix++ {
					if iy == y0 && ix == x0 {
						continue
					}
					in := img[rowBase+ix*C : rowBase+ix*C+C]
					in = in[:len(o)]
					for c, v := range in {
						o[c] += v
					}
				}
			}
			inv := 1 / float32(cy*cx)
			for c := range o {
				o[c] *= inv
			}
		}
	}
}

// poolTile is the channel tile of the global pools; their accumulators live
// on the stack.
const poolTile = 64

// GlobalAvgPool writes the mean over H and W of the NHWC tensor x into dst
// (N×C), accumulating in float64. ws supplies the thread pool and, for
// maps over gapChunkPix pixels, scratch.
func GlobalAvgPool(dst, x []float32, n, h, w, c int, ws *Workspace) {
	globalPool(dst, x, n, h, w, c, ws, false)
}

// GlobalMaxPool writes the max over H and W of the NHWC tensor x into dst
// (N×C). With h*w == 0 the result is -Inf.
func GlobalMaxPool(dst, x []float32, n, h, w, c int, ws *Workspace) {
	globalPool(dst, x, n, h, w, c, ws, true)
}

// The average pool of a map of at least 2·gapChunkMin pixels sums
// chunks of pixels on their own (hw/gapChunkMin chunks, at most
// gapMaxChunks; float64 partial sums added in chunk order), and the chunks
// split across the workers from gapParFloats values. Split by channel
// tiles, an early SE block's pool (EfficientNet-B0's 112²×96 and 56²×144)
// ran on one worker (144 channels are three 64-channel tiles, the last of
// 16) reading the whole map, half of it from the other core's cache:
// 0.065-0.077 ms at batch 1 on two threads against ORT's 0.028-0.034
// (bench/profile.sh, Xeon). Split by pixels, each worker reads the rows
// the convolution before it left in its own cache, so the pool splits
// from less work than the element-wise kernels do (parGrain). The chunks
// depend on the map's size only, so the result does not depend on the
// worker count.
const (
	gapChunkMin  = 48
	gapMaxChunks = 16
	gapParFloats = 32 << 10
)

func globalPool(dst, x []float32, n, h, w, c int, ws *Workspace, isMax bool) {
	if n < 0 || h < 0 || w < 0 || c < 0 {
		panic("kernels: global pool: negative dims")
	}
	shapeCheckLen("global pool input", x, n*h*w*c)
	shapeCheckLen("global pool output", dst, n*c)
	if chunks := min(h*w/gapChunkMin, gapMaxChunks); !isMax && chunks >= 2 && c > 0 {
		gapChunked(dst, x, n, h*w, c, chunks, ws)
		return
	}
	pl := ws.Par()
	tiles := (c + poolTile - 1) / poolTile
	items := n * tiles
	per := h * w * poolTile
	if parChunks(pl.Workers(), items, per) == 1 {
		globalPoolTiles(dst, x, h*w, c, tiles, isMax, 0, items)
		return
	}
	parRange(pl, items, per, func(lo, hi int) { globalPoolTiles(dst, x, h*w, c, tiles, isMax, lo, hi) })
}

// gapChunked is the average pool in chunks of pixels.
func gapChunked(dst, x []float32, n, hw, c, chunks int, ws *Workspace) {
	items := n * chunks
	sums := ws.Get64(items * c)
	if pl := ws.Par(); pl.Workers() > 1 && n*hw*c >= gapParFloats {
		w := min(pl.Workers(), items)
		pl.Do(w, w, itemFunc(func(i int) { gapChunkSums(sums, x, hw, c, chunks, i*items/w, (i+1)*items/w) }))
	} else {
		gapChunkSums(sums, x, hw, c, chunks, 0, items)
	}
	inv := 1 / float64(hw)
	for b := range n {
		s := sums[b*chunks*c : (b+1)*chunks*c]
		for j, a := range s[:c] {
			for k := 1; k < chunks; k++ {
				a += s[k*c+j]
			}
			dst[b*c+j] = float32(a * inv)
		}
	}
}

// gapChunkSums computes the partial sums of items [lo, hi) (image,
// chunk) into sums.
func gapChunkSums(sums []float64, x []float32, hw, c, chunks, lo, hi int) {
	for it := lo; it < hi; it++ {
		b, k := it/chunks, it%chunks
		p0, p1 := k*hw/chunks, (k+1)*hw/chunks
		gapSums(sums[it*c:(it+1)*c], x[(b*hw+p0)*c:(b*hw+p1)*c], p1-p0, c)
	}
}

func globalPoolTiles(dst, x []float32, hw, c, tiles int, isMax bool, lo, hi int) {
	for it := lo; it < hi; it++ {
		b, t := it/tiles, it%tiles
		c0 := t * poolTile
		c1 := min(c0+poolTile, c)
		img := x[b*hw*c : (b+1)*hw*c]
		o := dst[b*c+c0 : b*c+c1]
		if !isMax && hw > 0 && simdAVX512() {
			gapTile(o, img[c0:], hw, c)
			continue
		}
		if isMax {
			for j := range o {
				o[j] = float32(math.Inf(-1))
			}
			for i := 0; i < hw; i++ {
				in := img[i*c+c0 : i*c+c1]
				in = in[:len(o)]
				for j, v := range in {
					o[j] = max(o[j], v)
				}
			}
			continue
		}
		var acc [poolTile]float64
		a := acc[:len(o)]
		for i := 0; i < hw; i++ {
			in := img[i*c+c0 : i*c+c1]
			in = in[:len(a)]
			for j, v := range in {
				a[j] += float64(v)
			}
		}
		if hw == 0 {
			for j := range o {
				o[j] = 0
			}
			continue
		}
		inv := 1 / float64(hw)
		for j := range o {
			o[j] = float32(a[j] * inv)
		}
	}
}
