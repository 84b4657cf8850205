package kernels

import (
	"github.com/kconv/kconv/exec/internal/par"
	"math"
)

// Softmax writes softmax(x) along axis (negative counts from the end) of a
// tensor of the given shape into dst: exp(x-max)/sum(exp(x-max)), with the
// max and sum taken along axis, the sum accumulated in float64. dst may be x.
// A slice whose values are all -Inf gives NaN, as in TensorFlow.
func Softmax(dst, x []float32, shape []int, axis int, pl *par.Pool) {
	softmaxAxis(dst, x, shape, axis, pl, false)
}

// LogSoftmax writes log(softmax(x)) along axis into dst, computed as
// x - max - log(sum(exp(x-max))). dst may be x.
func LogSoftmax(dst, x []float32, shape []int, axis int, pl *par.Pool) {
	softmaxAxis(dst, x, shape, axis, pl, true)
}

// softmaxTile is the width of the strided (inner > 1) path; its per-column
// max and sum live on the stack.
const softmaxTile = 64

func softmaxAxis(dst, x []float32, shape []int, axis int, pl *par.Pool, log bool) {
	ax := shapeMustAxis(axis, len(shape))
	total := shapeElems(shape)
	shapeCheckLen("softmax input", x, total)
	shapeCheckLen("softmax output", dst, total)
	outer, n, inner := shapeProd(shape, 0, ax), shape[ax], shapeProd(shape, ax+1, len(shape))
	if total == 0 {
		return
	}
	if inner == 1 {
		per := 8 * n
		if parChunks(pl.Workers(), outer, per) == 1 {
			softmaxRows(dst, x, n, log, 0, outer)
			return
		}
		parRange(pl, outer, per, func(lo, hi int) { softmaxRows(dst, x, n, log, lo, hi) })
		return
	}
	tiles := (inner + softmaxTile - 1) / softmaxTile
	items := outer * tiles
	per := 8 * n * softmaxTile
	if parChunks(pl.Workers(), items, per) == 1 {
		softmaxStrided(dst, x, n, inner, tiles, log, 0, items)
		return
	}
	parRange(pl, items, per, func(lo, hi int) { softmaxStrided(dst, x, n, inner, tiles, log, lo, hi) })
}

// softmaxRows handles a contiguous axis: rows [lo, hi) of length n.
// With AVX-512 a softmax row's maximum and exponentials run on vectors
// (softmaxRowAVX512: the float32 e^x of the vector activations, a few ulps
// from float64's), their sum in float64 from the 16 lanes, and a row with
// a NaN or an infinite maximum takes the scalar loop: Swin-T's attention
// softmaxes (64×3×49×49 at batch 1) took 3.4 ms each in float64 exp.
func softmaxRows(dst, x []float32, n int, log bool, lo, hi int) {
	var sums [16]float32
	for r := lo; r < hi; r++ {
		in := x[r*n : r*n+n]
		out := dst[r*n : r*n+n]
		out = out[:len(in)]
		if !log && n > 0 && simdAVX512() {
			if m := softmaxRowAVX512(&out[0], &in[0], n, &sums); !math.IsNaN(float64(m)) && !math.IsInf(float64(m), 0) {
				var s float64
				for _, v := range sums {
					s += float64(v)
				}
				inv := float32(1 / s)
				for i, e := range out {
					out[i] = e * inv
				}
				continue
			}
		}
		m := in[0]
		for _, v := range in[1:] {
			m = max(m, v)
		}
		var s float64
		if log {
			for _, v := range in {
				s += math.Exp(float64(v - m))
			}
			ls := float32(math.Log(s))
			for i, v := range in {
				out[i] = v - m - ls
			}
			continue
		}
		for i, v := range in {
			e := math.Exp(float64(v - m))
			s += e
			out[i] = float32(e)
		}
		inv := 1 / s
		for i, e := range out {
			out[i] = float32(float64(e) * inv)
		}
	}
}

// softmaxStrided handles an axis with stride inner: item it covers block
// it/tiles of the outer dimension and a tile of up to softmaxTile columns,
// so every inner loop runs over contiguous memory.
func softmaxStrided(dst, x []float32, n, inner, tiles int, log bool, lo, hi int) {
	var mx [softmaxTile]float32
	var sum [softmaxTile]float64
	for it := lo; it < hi; it++ {
		o, t := it/tiles, it%tiles
		c0 := t * softmaxTile
		c1 := min(c0+softmaxTile, inner)
		w := c1 - c0
		base := o*n*inner + c0
		m, s := mx[:w], sum[:w]
		copy(m, x[base:base+w])
		for k := 1; k < n; k++ {
			in := x[base+k*inner : base+k*inner+w]
			for j, v := range in {
				m[j] = max(m[j], v)
			}
		}
		for j := range s {
			s[j] = 0
		}
		for k := 0; k < n; k++ {
			in := x[base+k*inner : base+k*inner+w]
			out := dst[base+k*inner : base+k*inner+w]
			for j, v := range in {
				e := math.Exp(float64(v - m[j]))
				s[j] += e
				if !log {
					out[j] = float32(e)
				}
			}
		}
		for j := range s {
			if log {
				s[j] = math.Log(s[j])
			} else {
				s[j] = 1 / s[j]
			}
		}
		for k := 0; k < n; k++ {
			in := x[base+k*inner : base+k*inner+w]
			out := dst[base+k*inner : base+k*inner+w]
			if log {
				for j, v := range in {
					out[j] = v - m[j] - float32(s[j])
				}
			} else {
				for j, e := range out {
					out[j] = float32(float64(e) * s[j])
				}
			}
		}
	}
}

// RefSoftmax is the reference softmax along axis, straight from the
// definition with the max subtracted.
func RefSoftmax(x []float32, shape []int, axis int) []float32 {
	return refSoftmax(x, shape, axis, false)
}

// RefLogSoftmax is the reference log-softmax along axis.
func RefLogSoftmax(x []float32, shape []int, axis int) []float32 {
	return refSoftmax(x, shape, axis, true)
}

func refSoftmax(x []float32, shape []int, axis int, log bool) []float32 {
	ax := shapeMustAxis(axis, len(shape))
	outer, n, inner := shapeProd(shape, 0, ax), shape[ax], shapeProd(shape, ax+1, len(shape))
	out := make([]float32, len(x))
	for o := 0; o < outer; o++ {
		for i := 0; i < inner; i++ {
			at := func(k int) int { return (o*n+k)*inner + i }
			m := math.Inf(-1)
			for k := 0; k < n; k++ {
				m = math.Max(m, float64(x[at(k)]))
			}
			var s float64
			for k := 0; k < n; k++ {
				s += math.Exp(float64(x[at(k)]) - m)
			}
			for k := 0; k < n; k++ {
				d := float64(x[at(k)]) - m
				if log {
					out[at(k)] = float32(d - math.Log(s))
				} else {
					out[at(k)] = float32(math.Exp(d) / s)
				}
			}
		}
	}
	return out
}
