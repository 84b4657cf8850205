package kernels

import "github.com/kconv/kconv/exec/internal/par"

// Workspace is per-call scratch memory for the kernels. Each concurrent
// caller (each Run of a model) owns its own Workspace; a kernel uses it for
// the duration of one call, so one Workspace may serve every layer of a
// model in turn. Kernels keep no package-level mutable buffers.
//
// The zero value is ready to use, and a nil *Workspace is accepted by every
// kernel (it then allocates per call).
type Workspace struct {
	buf   []float32
	buf64 []float64 // Get64's buffer
	// Pool is the Program's thread budget (nil: serial). Kernels split
	// their work through Par() when it is worth it. Memory-bound kernels
	// (element-wise, channel ops, copies: parGrain, chanop's limits) split
	// only from ~50 µs of work: a parallel call costs ~5-20 µs here
	// (handing out the items, waiting for the last one) and moving their
	// data between the cores' caches costs what the second core gains
	// (ShuffleNetV2 at batch 1 on two threads: 3.0 ms with those limits,
	// 3.4 with limits 4× lower). Convolutions (scSerialFLOPs,
	// winoSerialFLOPs, dwParMin) split from ~10 µs: at batch 1 a model is
	// a chain of them, and a convolution that runs on one core leaves
	// its output in that core's cache, so the next split convolution's
	// other half reads it from the other core (MobileNetV2, with the
	// convolution limits 8× higher: the helper took 1.4× longer per item
	// than the caller; measured per-item with the pool instrumented).
	// Batch 1, two threads, limits 8× lower than ~50 µs, alternated on a
	// 2-vCPU Zen 5 VM: MobileNetV2 4.5 → 4.05 ms, RegNetX-400MF 4.67 →
	// 3.47, SqueezeNet 2.43 → 2.26, EfficientNet-B0 5.79 → 5.53,
	// GoogLeNet 11.4 → 11.0.
	Pool *par.Pool
}

// Par returns the workspace's thread pool; nil (serial) for a nil
// Workspace or one without a Pool.
func (w *Workspace) Par() *par.Pool {
	if w == nil {
		return nil
	}
	return w.Pool
}

// NewWorkspace returns a Workspace whose buffer is preallocated to n floats.
func NewWorkspace(n int) *Workspace {
	return &Workspace{buf: make([]float32, n)}
}

// Get returns a slice of n floats with unspecified contents. It reuses the
// workspace's buffer, growing it (without copying) when n exceeds its
// capacity, so the slice returned by an earlier Get is invalidated: a kernel
// needing several scratch regions takes one Get and splits it.
func (w *Workspace) Get(n int) []float32 {
	if w == nil {
		return make([]float32, n)
	}
	return grow(&w.buf, n)
}

// Get64 is Get for float64 scratch (a buffer of its own: a kernel may
// hold one slice from each).
func (w *Workspace) Get64(n int) []float64 {
	if w == nil {
		return make([]float64, n)
	}
	return grow(&w.buf64, n)
}

// grow returns (*buf)[:n], reallocating *buf (without copying) when its
// capacity is short.
func grow[T float32 | float64](buf *[]T, n int) []T {
	if cap(*buf) < n {
		*buf = make([]T, n)
	}
	return (*buf)[:n]
}

// Cap reports the number of floats the workspace holds.
func (w *Workspace) Cap() int {
	if w == nil {
		return 0
	}
	return cap(w.buf)
}
