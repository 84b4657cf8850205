package kernels

import (
	"github.com/kconv/kconv/exec/internal/gemm"
	"github.com/kconv/kconv/exec/internal/par"
)

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
// GEMM does not switch to GEMV by itself), small batches a sequence of
// GEMMs over thin row blocks of w (see denseBlocked), larger ones a single
// GEMM; all are split across the workers of ws.Par(). The bias is the GEMM's initial
// accumulator (beta = 1). ws supplies the thread pool.
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
	switch {
	case n == 1:
		// y = wᵀ·x with w row-major in×out.
		gemm.Sgemv(ws.Par(), true, in, out, 1, w, out, x, beta, y)
	case n <= 2 || n <= 8 && 4*in*out > denseStreamBytes:
		if beta == 0 {
			clear(y[:n*out])
		}
		gemm.SgemmRows(ws.Par(), n, out, in, x, in, w, out, y, out)
	case n <= denseSmallBatch:
		denseBlocked(ws.Par(), n, in, out, x, w, beta, y)
	default:
		gemm.Sgemm(ws.Par(), false, false, n, out, in, 1, x, in, w, out, beta, y, out)
	}
	convActPar(y[:n*out], act, ws)
}

// denseSmallBatch is the largest batch that denseBlocked handles. For a few
// rows OpenBLAS 0.3.21's single GEMM streams the weights poorly (fc6,
// 25088×4096, 2 threads: batch 8 took 52 ms as one GEMM, 23 ms blocked;
// batch 2 33 vs 15 ms; batch 32 85 vs 60 ms; the weights' bandwidth floor
// is ~13 ms).
const denseSmallBatch = 32

// Batches of 2, and of up to 8 when the weights are over denseStreamBytes
// (at batch 1 the layers before evict them: they come from memory at
// every call), go through gemm.SgemmRows, which reads the weights once for
// all rows (8 rows at a time, in L1-sized column blocks); the batch-split
// chunks of a CNN's classifier are such batches. Xeon, one thread: a
// 1024→1000 classifier (4 MB) at batch 2 234-259 → 183-194 µs; at batch 4
// 259-270 vs 275-286 and at batch 8 397-423 vs 446-493 (denseBlocked's
// GEMMs keep those); VGG16's fc6 (411 MB) at batch 4 48-51 → 44 ms. At
// batch 8 in the models (two threads, kconv bench --profile): AlexNet's
// fc6 (151 MB) 16-23 → 9-12 ms, fc7 (67 MB) 7.5-11 → 4-5, fc8 (16 MB)
// 2.3-2.4 → 1.6-1.7; ResNet50's fc (8 MB) 1.15-1.38 → 0.85; MobileNetV2's
// (5 MB) 0.70-0.85 → 0.54-0.57. (The bound was 32 MB and batch 4.) On
// CPU families with stream kernels such weights are packed instead
// (DensePacks), and DenseWith streams them at every batch size.
const denseStreamBytes = 4 << 20

// denseBlocked computes y = x·w + beta*y for a small batch as a sequence of
// GEMMs over thin row blocks of w (kb rows, a few hundred KB, which stay in
// cache while all n rows of x use them), each worker owning a column range
// of w and y.
func denseBlocked(pool *par.Pool, n, in, out int, x, w []float32, beta float32, y []float32) {
	// Each block is one SgemmSerial call, which packs its rows of w: below
	// ~64 rows the per-call packing and C passes cost more than the
	// multiply (a 1024→1000 classifier on one core, Xeon: batch 2 460 →
	// 257 µs, batch 8 729 → 458 µs with 8-16-row blocks → 64; 32, 128 and
	// 256 no better).
	kb := 64
	if n >= 16 {
		kb = min(256, 4*n)
	}
	t := pool.Workers()
	chunk := ((out+t-1)/t + 15) / 16 * 16
	cols := func(j0, j1 int) {
		b := beta
		for k0 := 0; k0 < in; k0 += kb {
			gemm.SgemmSerial(false, false, n, j1-j0, min(kb, in-k0), 1, x[k0:], in, w[k0*out+j0:], out, b, y[j0:], out)
			b = 1
		}
	}
	pool.Do(t, (out+chunk-1)/chunk, itemFunc(func(it int) { cols(it*chunk, min((it+1)*chunk, out)) }))
}

// DenseKernel is a dense layer's in×out kernel (Keras's layout) prepared
// once for DenseWith: packed into gemm.StreamB panels when DensePacks says
// so, otherwise the caller's slice as it is.
type DenseKernel struct {
	in, out int
	w       []float32     // the kernel, row-major; nil when packed
	sb      *gemm.StreamB // the kernel packed for streaming
}

// DensePacks reports whether NewDenseKernel packs an in×out kernel: when
// its weights are over denseStreamBytes (they come from memory at each
// call; a batch of a few rows waits on them) and the CPU family has
// stream kernels.
//
// Measured (Xeon, two threads, weights from memory): AlexNet's fc6
// (9216×4096, 151 MB) at batch 8 12.5-13.3 ms through SgemmRows, 6.3-7.5
// packed; batch 1 6.9-7.6 (the transposed GEMV) against 5.0-6.1; batch 64
// 31-47 (Sgemm) against 19-21; ResNet50's classifier (2048×1000) at
// batch 8 0.81-0.86 → 0.19-0.34 ms.
func DensePacks(in, out int) bool {
	return 4*in*out > denseStreamBytes && gemm.Streams()
}

// NewDenseKernel prepares w (in×out) for DenseWith, keeping w: when
// DensePacks(in, out) it packs w in place (gemm.PackStreamInPlace), so a
// caller that packs must give w up; otherwise w is used as it is.
func NewDenseKernel(in, out int, w []float32) *DenseKernel {
	return newDenseKernel(in, out, w, DensePacks(in, out))
}

func newDenseKernel(in, out int, w []float32, pack bool) *DenseKernel {
	if in < 1 || out < 1 {
		panic("kernels: bad dense sizes")
	}
	convCheckLen("dense weights", w, in*out)
	if pack {
		return &DenseKernel{in: in, out: out, sb: gemm.PackStreamInPlace(in, out, w)}
	}
	return &DenseKernel{in: in, out: out, w: w}
}

// DenseWith is Dense with a kernel prepared by NewDenseKernel: a packed
// kernel goes through gemm.SgemmStream at every batch size (bias first,
// then the product added, then the activation).
func DenseWith(n int, x []float32, k *DenseKernel, bias []float32, act Activation, y []float32, ws *Workspace) {
	if k.sb == nil {
		Dense(n, k.in, k.out, x, k.w, bias, act, y, ws)
		return
	}
	convCheckLen("dense input", x, n*k.in)
	convCheckLen("dense output", y, n*k.out)
	if n <= 0 {
		if n < 0 {
			panic("kernels: bad dense sizes")
		}
		return
	}
	if bias != nil {
		convCheckLen("dense bias", bias, k.out)
		convBiasFill(y, k.out, bias)
	} else {
		clear(y[:n*k.out])
	}
	gemm.SgemmStream(ws.Par(), n, x, k.in, k.sb, y, k.out)
	convActPar(y[:n*k.out], act, ws)
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
