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
	buf []float32
	// Pool is the Program's thread budget (nil: serial). Kernels split
	// their work through Par(), and only work worth ~50 µs or more on one
	// core: a parallel call costs ~10-20 µs here (handing out the items,
	// waiting for the last one, the other core's caches), and at batch 1
	// the layers of small models take 5-50 µs each. The kernels' limits
	// (scSerialFLOPs, winoSerialFLOPs, dwParMin, parGrain, the channel
	// ops', gemm's) were raised 4× to that: MobileNetV3-Small at batch 1
	// on two threads 2.0 → 1.45 ms, SqueezeNet 3.9 → 3.6, larger models
	// unchanged (alternated on a 2-vCPU Zen 5 VM).
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
	if cap(w.buf) < n {
		w.buf = make([]float32, n)
	}
	return w.buf[:n]
}

// Cap reports the number of floats the workspace holds.
func (w *Workspace) Cap() int {
	if w == nil {
		return 0
	}
	return cap(w.buf)
}
