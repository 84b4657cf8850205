package kernels

import (
	"fmt"
	"github.com/kconv/kconv/exec/internal/par"
	"math"
)

func resizeCheck(what string, dst, x []float32, n, h, w, c, oh, ow int) {
	if n < 0 || h < 0 || w < 0 || c < 0 || oh < 0 || ow < 0 {
		panic(fmt.Sprintf("kernels: %s: negative size", what))
	}
	if len(x) != n*h*w*c || len(dst) != n*oh*ow*c {
		panic(fmt.Sprintf("kernels: %s: input has %d elements, want %d; output %d, want %d",
			what, len(x), n*h*w*c, len(dst), n*oh*ow*c))
	}
}

// UpsampleNearest writes Keras UpSampling2D(size=(sh, sw),
// interpolation='nearest') of the NHWC tensor x into dst (N×h*sh×w*sw×C):
// out[y][x] = in[y/sh][x/sw].
func UpsampleNearest(dst, x []float32, n, h, w, c, sh, sw int, pl *par.Pool) {
	if sh < 1 || sw < 1 {
		panic(fmt.Sprintf("kernels: upsample: factors %dx%d", sh, sw))
	}
	resizeCheck("upsample", dst, x, n, h, w, c, h*sh, w*sw)
	rows := n * h
	per := sh * w * sw * c
	if parChunks(pl.Workers(), rows, per) == 1 {
		upsampleNearestRows(dst, x, w, c, sh, sw, 0, rows)
		return
	}
	parRange(pl, rows, per, func(lo, hi int) { upsampleNearestRows(dst, x, w, c, sh, sw, lo, hi) })
}

// upsampleNearestRows expands input rows [lo, hi) (over N×H) into sh output
// rows each.
func upsampleNearestRows(dst, x []float32, w, c, sh, sw, lo, hi int) {
	inRow, outRow := w*c, w*sw*c
	for r := lo; r < hi; r++ {
		in := x[r*inRow : (r+1)*inRow]
		out := dst[r*sh*outRow : (r+1)*sh*outRow]
		first := out[:outRow]
		for ix := 0; ix < w; ix++ {
			px := in[ix*c : ix*c+c]
			for k := 0; k < sw; k++ {
				copy(first[(ix*sw+k)*c:], px)
			}
		}
		for k := 1; k < sh; k++ {
			copy(out[k*outRow:(k+1)*outRow], first)
		}
	}
}

// resizeCoord returns, for output coordinate o of a resize from in to out
// cells, the two source cells and the weight of the second, with
// TensorFlow 2 tf.image.resize half-pixel centers computed in float32 as TF
// does: src = (o+0.5)*(in/out) - 0.5, clamped below at 0, i0 = floor(src),
// i1 = min(i0+1, in-1), lerp = src - i0.
func resizeCoord(o, in, out int) (i0, i1 int, lerp float32) {
	scale := float32(in) / float32(out)
	src := (float32(o)+0.5)*scale - 0.5
	if src < 0 {
		src = 0
	}
	f := float32(math.Floor(float64(src)))
	i0 = min(int(f), in-1)
	i1 = min(i0+1, in-1)
	return i0, i1, src - f
}

// ResizeBilinear writes the bilinear resize of the NHWC tensor x (N×h×w×C)
// to N×oh×ow×C into dst, with half-pixel centers and no antialiasing: what
// tf.image.resize(method='bilinear') does, and so what Keras
// UpSampling2D(interpolation='bilinear') (Keras 2 and 3, TF backend)
// computes. Source coordinates are (o+0.5)*in/out-0.5, clamped to the edge;
// see resizeCoord. Each value is top + (bottom-top)*ly with
// top = tl + (tr-tl)*lx, bottom = bl + (br-bl)*lx, in float32, matching TF.
func ResizeBilinear(dst, x []float32, n, h, w, c, oh, ow int, pl *par.Pool) {
	resizeCheck("resize", dst, x, n, h, w, c, oh, ow)
	if (h == 0 || w == 0) && oh*ow > 0 && n*c > 0 {
		panic("kernels: resize: empty input")
	}
	rows := n * oh
	per := 4 * ow * c
	if parChunks(pl.Workers(), rows, per) == 1 {
		resizeBilinearRows(dst, x, h, w, c, oh, ow, 0, rows)
		return
	}
	parRange(pl, rows, per, func(lo, hi int) { resizeBilinearRows(dst, x, h, w, c, oh, ow, lo, hi) })
}

// UpsampleBilinear is Keras UpSampling2D(size=(sh, sw),
// interpolation='bilinear'): ResizeBilinear to (h*sh, w*sw).
func UpsampleBilinear(dst, x []float32, n, h, w, c, sh, sw int, pl *par.Pool) {
	if sh < 1 || sw < 1 {
		panic(fmt.Sprintf("kernels: upsample: factors %dx%d", sh, sw))
	}
	ResizeBilinear(dst, x, n, h, w, c, h*sh, w*sw, pl)
}

func resizeBilinearRows(dst, x []float32, h, w, c, oh, ow, lo, hi int) {
	for r := lo; r < hi; r++ {
		b, oy := r/oh, r%oh
		y0, y1, ly := resizeCoord(oy, h, oh)
		top := x[((b*h+y0)*w)*c : ((b*h+y0+1)*w)*c]
		bot := x[((b*h+y1)*w)*c : ((b*h+y1+1)*w)*c]
		orow := dst[r*ow*c : (r+1)*ow*c]
		for ox := 0; ox < ow; ox++ {
			x0, x1, lx := resizeCoord(ox, w, ow)
			o := orow[ox*c : ox*c+c]
			tl, tr := top[x0*c:x0*c+c], top[x1*c:x1*c+c]
			bl, br := bot[x0*c:x0*c+c], bot[x1*c:x1*c+c]
			tl, tr, bl, br = tl[:len(o)], tr[:len(o)], bl[:len(o)], br[:len(o)]
			for j := range o {
				t := tl[j] + (tr[j]-tl[j])*lx
				u := bl[j] + (br[j]-bl[j])*lx
				o[j] = t + (u-t)*ly
			}
		}
	}
}
