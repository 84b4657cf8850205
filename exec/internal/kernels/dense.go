package kernels

import "github.com/kconv/kconv/exec/internal/gemm"

func denseCheck(n, in, out int, x, w, bias, y []float32) {
	if n < 0 || in < 1 || out < 1 {
		panic("kernels: bad dense sizes")
	}
	convCheckLen("dense input", x, n*in)
	convCheckLen("dense weights", w, in*out)
	convCheckLen("dense output", y, n*out)
	if bias != nil {
		convCheckLen("dense bias", bias, out)
	}
}

// Dense computes y = act(x·w + bias) for x of n×in, w of in×out (Keras's
// layout), y of n×out; bias (out values) may be nil. A batch of one is a
// GEMV (the layer is bound by the weights' memory bandwidth, and OpenBLAS's
// GEMM does not switch to GEMV by itself), larger batches a GEMM; both are
// split across gemm.Threads() goroutines. The bias is the GEMM's initial
// accumulator (beta = 1). ws is unused (accepted for a uniform signature).
func Dense(n, in, out int, x, w, bias []float32, act Activation, y []float32, ws *Workspace) {
	denseCheck(n, in, out, x, w, bias, y)
	if n == 0 {
		return
	}
	var beta float32
	if bias != nil {
		convBiasFill(y, out, bias)
		beta = 1
	}
	if n == 1 {
		// y = wᵀ·x with w row-major in×out.
		gemm.Sgemv(true, in, out, 1, w, out, x, beta, y)
	} else {
		gemm.Sgemm(false, false, n, out, in, 1, x, in, w, out, beta, y, out)
	}
	convAct(y, act)
}

// RefDense is Dense from the definition:
// y[b,o] = act(bias[o] + Σ_i x[b,i]*w[i,o]).
func RefDense(n, in, out int, x, w, bias []float32, act Activation) []float32 {
	y := make([]float32, n*out)
	denseCheck(n, in, out, x, w, bias, y)
	for b := range n {
		for o := range out {
			var s float64
			if bias != nil {
				s = float64(bias[o])
			}
			for i := range in {
				s += float64(x[b*in+i]) * float64(w[i*out+o])
			}
			y[b*out+o] = float32(s)
		}
	}
	act.Apply(y)
	return y
}
