package kernels

import "math"

// SIMD activation kinds of actAVX512 (act_amd64.s).
const (
	simdClamp = iota
	simdSigmoid
	simdSwish
	simdHardSwish
	simdGELU
)

// simdAct maps a to the vector kernel's form: its kind and, for clamps,
// the bounds. ok is false for activations the vector kernel lacks (they
// run in Apply).
func (a Activation) simdAct() (kind int, lo, hi float32, ok bool) {
	inf := float32(math.Inf(1))
	switch a.Kind {
	case ActReLU:
		if a.NegativeSlope != 0 || a.Threshold != 0 {
			return 0, 0, 0, false
		}
		hi = inf
		if a.HasMax {
			if !(a.MaxValue >= 0) {
				return 0, 0, 0, false
			}
			hi = a.MaxValue
		}
		return simdClamp, 0, hi, true
	case ActClip:
		if a.Min > a.Max { // ONNX: Max wins; keep Apply's order of min/max
			return 0, 0, 0, false
		}
		return simdClamp, a.Min, a.Max, true
	case ActSigmoid:
		return simdSigmoid, 0, 0, true
	case ActSwish:
		return simdSwish, 0, 0, true
	case ActHardSwish:
		return simdHardSwish, 0, 0, true
	case ActGELU:
		return simdGELU, 0, 0, true
	}
	return 0, 0, 0, false
}

// clampBounds returns the bounds when a is a clamp the depthwise kernel
// can fuse into its stores (linear: ±Inf).
func (a Activation) clampBounds() (lo, hi float32, ok bool) {
	if a.IsLinear() {
		inf := float32(math.Inf(1))
		return -inf, inf, true
	}
	if k, lo, hi, ok := a.simdAct(); ok && k == simdClamp {
		return lo, hi, true
	}
	return 0, 0, false
}

// ApplyFast is Apply on the CPU's vector units where a kernel exists for a
// (ReLU, ReLU6 and other clamps, sigmoid, swish, hard swish on AVX-512);
// otherwise, or when vectors are disabled (simdOff), it is Apply. Sigmoid
// and swish use a float32 polynomial e^x and a Newton-refined reciprocal
// (within a few float32 ulps of Apply's float64); the clamps are exact
// and keep NaN.
func (a Activation) ApplyFast(x []float32) {
	if len(x) == 0 || a.IsLinear() {
		return
	}
	if k, lo, hi, ok := a.simdAct(); ok && simdAVX512() {
		actAVX512(&x[0], len(x), 1, 0, k, lo, hi)
		return
	}
	a.Apply(x)
}

// applyRows is ApplyFast over rows runs of n floats, ld apart, from x[0]
// on (a channel range of each pixel): one call of the vector kernel for
// them all, where a call per run cost more than the activation on short
// runs (a 1×1 convolution split into channel groups, 120 channels a pixel).
func (a Activation) applyRows(x []float32, n, rows, ld int) {
	if n <= 0 || rows <= 0 || a.IsLinear() {
		return
	}
	_ = x[(rows-1)*ld+n-1]
	if k, lo, hi, ok := a.simdAct(); ok && simdAVX512() {
		actAVX512(&x[0], n, rows, ld, k, lo, hi)
		return
	}
	for r := range rows {
		a.Apply(x[r*ld : r*ld+n])
	}
}
