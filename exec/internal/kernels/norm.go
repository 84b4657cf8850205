package kernels

import (
	"fmt"
	"github.com/kconv/kconv/exec/internal/par"
	"math"
)

// BNScaleShift folds inference batch normalization
// y = gamma*(x-mean)/sqrt(variance+eps) + beta into a per-channel affine
// y = x*scale + shift, computed in float64: scale = gamma/sqrt(variance+eps),
// shift = beta - mean*scale. A nil gamma means 1 (Keras scale=False) and a
// nil beta means 0 (center=False).
func BNScaleShift(gamma, beta, mean, variance []float32, eps float32) (scale, shift []float32) {
	c := len(mean)
	if len(variance) != c || (gamma != nil && len(gamma) != c) || (beta != nil && len(beta) != c) {
		panic(fmt.Sprintf("kernels: batch norm: lengths gamma %d beta %d mean %d variance %d",
			len(gamma), len(beta), len(mean), len(variance)))
	}
	scale, shift = make([]float32, c), make([]float32, c)
	for i := range c {
		g, b := 1.0, 0.0
		if gamma != nil {
			g = float64(gamma[i])
		}
		if beta != nil {
			b = float64(beta[i])
		}
		s := g / math.Sqrt(float64(variance[i])+float64(eps))
		scale[i] = float32(s)
		shift[i] = float32(b - float64(mean[i])*s)
	}
	return scale, shift
}

// ChannelAffine sets x = x*scale + shift in place along the last axis of
// length c (NHWC channels). A nil scale means 1 and a nil shift means 0.
func ChannelAffine(x []float32, c int, scale, shift []float32) {
	if c <= 0 || len(x)%c != 0 || (scale != nil && len(scale) != c) || (shift != nil && len(shift) != c) {
		panic(fmt.Sprintf("kernels: channel affine: len(x)=%d c=%d len(scale)=%d len(shift)=%d", len(x), c, len(scale), len(shift)))
	}
	for r := 0; r < len(x); r += c {
		row := x[r : r+c]
		switch {
		case scale != nil && shift != nil:
			sc, sh := scale[:len(row)], shift[:len(row)]
			for j, v := range row {
				row[j] = v*sc[j] + sh[j]
			}
		case scale != nil:
			binVV(OpMul, row, row, scale)
		case shift != nil:
			binVV(OpAdd, row, row, shift)
		}
	}
}

// RefChannelAffine is the reference of ChannelAffine; it returns a new slice.
func RefChannelAffine(x []float32, c int, scale, shift []float32) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		s, b := float32(1), float32(0)
		if scale != nil {
			s = scale[i%c]
		}
		if shift != nil {
			b = shift[i%c]
		}
		out[i] = v*s + b
	}
	return out
}

// PReLU sets x = x if x >= 0 else alpha*x in place, alpha of shape
// alphaShape broadcasting (numpy rules, unidirectionally) to xShape: a
// scalar, a per-channel vector (Keras shared_axes over all but the channel
// axis, ONNX slope of shape [C] for NHWC data), or e.g. Keras's default
// H×W×C alpha.
func PReLU(x []float32, xShape []int, alpha []float32, alphaShape []int) {
	if !shapeBroadcastsTo(alphaShape, xShape) {
		panic(fmt.Sprintf("kernels: prelu: alpha shape %v does not broadcast to %v", alphaShape, xShape))
	}
	Binary(opPReLU, x, x, xShape, alpha, alphaShape, nil)
}

// RefPReLU is the reference of PReLU; it returns a new slice.
func RefPReLU(x []float32, xShape []int, alpha []float32, alphaShape []int) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		if v < 0 {
			v *= alpha[refBroadcastIndex(i, xShape, alphaShape)]
		}
		out[i] = v
	}
	return out
}

// LRN is ONNX LRN (local response normalization across channels) with the
// channels on the last axis of length c: for channel i,
//
//	sq = sum of x[j]^2 for j in [i-floor((size-1)/2), i+ceil((size-1)/2)] ∩ [0, c)
//	y  = x / (bias + alpha/size*sq)^beta
//
// The sums run in float64. dst must not overlap x. (TensorFlow's
// local_response_normalization with depth_radius r and alpha a is size
// 2r+1 and alpha a*(2r+1).)
func LRN(dst, x []float32, c, size int, alpha, beta, bias float32, pl *par.Pool) {
	if c <= 0 || len(x)%c != 0 || size < 1 {
		panic(fmt.Sprintf("kernels: lrn: len(x)=%d c=%d size=%d", len(x), c, size))
	}
	shapeCheckLen("lrn output", dst, len(x))
	rows := len(x) / c
	per := 4 * c
	if parChunks(pl.Workers(), rows, per) == 1 {
		lrnRows(dst, x, c, size, alpha, beta, bias, 0, rows)
		return
	}
	parRange(pl, rows, per, func(lo, hi int) { lrnRows(dst, x, c, size, alpha, beta, bias, lo, hi) })
}

func lrnRows(dst, x []float32, c, size int, alpha, beta, bias float32, lo, hi int) {
	before, after := (size-1)/2, size/2 // floor and ceil of (size-1)/2
	k := float64(alpha) / float64(size)
	b, e := float64(bias), float64(beta)
	for r := lo; r < hi; r++ {
		in := x[r*c : r*c+c]
		out := dst[r*c : r*c+c]
		out = out[:len(in)]
		var sq float64
		for j := 0; j < min(after, c-1)+1; j++ {
			sq += float64(in[j]) * float64(in[j])
		}
		for i, v := range in {
			if i > 0 {
				if j := i + after; j < c {
					sq += float64(in[j]) * float64(in[j])
				}
				if j := i - before - 1; j >= 0 {
					sq -= float64(in[j]) * float64(in[j])
				}
			}
			d := b + k*math.Max(sq, 0)
			var p float64
			if e == 0.75 {
				s := math.Sqrt(d)
				p = s * math.Sqrt(s)
			} else {
				p = math.Pow(d, e)
			}
			out[i] = float32(float64(v) / p)
		}
	}
}

// RefLRN is the reference of LRN, summing every window afresh.
func RefLRN(x []float32, c, size int, alpha, beta, bias float32) []float32 {
	out := make([]float32, len(x))
	lo, hi := int(math.Floor(float64(size-1)/2)), int(math.Ceil(float64(size-1)/2))
	for r := 0; r < len(x)/c; r++ {
		for i := 0; i < c; i++ {
			var sq float64
			for j := i - lo; j <= i+hi; j++ {
				if j >= 0 && j < c {
					v := float64(x[r*c+j])
					sq += v * v
				}
			}
			d := float64(bias) + float64(alpha)/float64(size)*sq
			out[r*c+i] = float32(float64(x[r*c+i]) / math.Pow(d, float64(beta)))
		}
	}
	return out
}
