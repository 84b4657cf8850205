package exec

import (
	"fmt"
	"sync"

	"github.com/kconv/kconv/exec/internal/kernels"
	"github.com/kconv/kconv/ir"
)

// A convolution whose kernel is packed (SmallConv, Winograd) needs the
// model's kernel only while it is packed. Its values are therefore read at
// packing time, from the weight's source, into a buffer the compile reuses
// from kernel to kernel (kernelReads), batch normalization folded in place:
// the model's layout of a kernel is never a fresh allocation of its own,
// which on machines where first-touched memory is slow costs as much as
// the packing itself.

// kernelReads is a compile's buffers for kernels read at packing time, and
// the first error reading one.
type kernelReads struct {
	mu   sync.Mutex
	free [][]float32
	err  error
	// most is the largest kernel queued for reading (see expect): a
	// buffer is made that large at once, not grown kernel by kernel.
	most int
}

// expect notes, while lowering (before any get), a kernel of n values to
// be read.
func (r *kernelReads) expect(n int) { r.most = max(r.most, n) }

// maxFreeKernels bounds the buffers kept for reuse (the packing runs on a
// few workers at a time).
const maxFreeKernels = 4

// get returns a buffer of n values (garbage), the smallest kept one that is
// large enough, or a new one.
func (r *kernelReads) get(n int) []float32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	best := -1
	for i, b := range r.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(r.free[best])) {
			best = i
		}
	}
	if best < 0 {
		return make([]float32, n, max(n, r.most))
	}
	b := r.free[best][:n]
	r.free = append(r.free[:best], r.free[best+1:]...)
	return b
}

// put keeps b for reuse, dropping the smallest kept buffer when there are
// too many.
func (r *kernelReads) put(b []float32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.free = append(r.free, b)
	if len(r.free) > maxFreeKernels {
		small := 0
		for i, f := range r.free {
			if cap(f) < cap(r.free[small]) {
				small = i
			}
		}
		r.free = append(r.free[:small], r.free[small+1:]...)
	}
}

// fail records err if it is the first.
func (r *kernelReads) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

// firstErr returns the first error recorded.
func (r *kernelReads) firstErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// convKernel is a convolution's kernel 0, not read yet, with the per
// output channel scale of a folded batch normalization (nil: none).
type convKernel struct {
	node  string
	w     *ir.Weight
	outC  int
	scale []float32
	reads *kernelReads
}

// convWeights is foldedWeights for a node whose kernel 0 has output
// channels last: it reads every weight but that kernel, which it returns
// unread.
func (l *lowerer) convWeights(n *ir.Node, useBias bool, f *ir.Fusion, outC int) (*convKernel, []float32, bool, error) {
	if len(n.Weights) != len(n.Specs) {
		return nil, nil, false, fmt.Errorf("has %d weights, expected %d (was the model loaded with its weights?)", len(n.Weights), len(n.Specs))
	}
	if len(n.Weights) == 0 {
		return nil, nil, false, fmt.Errorf("has no kernel")
	}
	ws := make([][]float32, len(n.Weights))
	for i, w := range n.Weights[1:] {
		d, err := w.Data()
		if err != nil {
			return nil, nil, false, fmt.Errorf("weight %s: %w", w.Name, err)
		}
		ws[i+1] = d
	}
	_, bias, scale, err := foldWeights(ws, useBias, f, outC, 0)
	if err != nil {
		return nil, nil, false, err
	}
	return &convKernel{node: n.Name, w: n.Weights[0], outC: outC, scale: scale, reads: &l.reads}, bias, scale != nil, nil
}

// values returns the kernel's values to keep (a folded copy when a batch
// normalization is folded).
func (k *convKernel) values() ([]float32, error) {
	d, err := k.w.Data()
	if err != nil {
		return nil, fmt.Errorf("weight %s: %w", k.w.Name, err)
	}
	if k.scale == nil {
		return d, nil
	}
	return scaledKernel(d, k.outC, k.scale), nil
}

// packKernel queues the packing of kernel k by f as a preparation (see
// lowerer.prepare and convKernel.pack).
func (l *lowerer) packKernel(k *convKernel, f func(kernel []float32)) {
	l.reads.expect(int(k.w.Elements()))
	l.prepare(func() { k.pack(f) })
}

// pack calls f with the kernel's values in a buffer of k.reads, then lets
// the weight drop any values it holds in memory (it reads them from its
// file again if ever needed). A read error is recorded in k.reads and f
// not called.
func (k *convKernel) pack(f func(kernel []float32)) {
	buf := k.reads.get(int(k.w.Elements()))
	defer k.reads.put(buf)
	if k.readInto(buf) {
		f(buf)
	}
}

// readInto reads the kernel's values into buf (of its element count), the
// folded scale applied, and lets the weight drop any values it holds in
// memory. It reports false, the error recorded in k.reads, when the read
// fails.
func (k *convKernel) readInto(buf []float32) bool {
	if err := k.w.ReadInto(buf); err != nil {
		k.reads.fail(&ir.LayerError{Layer: k.node, Err: fmt.Errorf("weight %s: %w", k.w.Name, err)})
		return false
	}
	k.w.Release()
	if k.scale != nil {
		for i := range buf {
			buf[i] *= k.scale[i%k.outC]
		}
	}
	return true
}

// scaledKernel returns a copy of kernel (output channels last, outC of
// them) with each output channel multiplied by its scale.
func scaledKernel(kernel []float32, outC int, scale []float32) []float32 {
	k := make([]float32, len(kernel))
	for i, v := range kernel {
		k[i] = v * scale[i%outC]
	}
	return k
}

// prefetch reads, on the Program's workers, every weight of m that
// lowering reads (so that a large model's weights are read in parallel,
// not one layer after the other), all but the Conv2D kernels, which are
// read where they are packed (or, for the kernels kept as they are, by
// lowering). A weight that fails to read keeps its error, which lowering
// reports with its layer.
func (l *lowerer) prefetch(m *ir.Model) {
	var ws weightReads
	for _, n := range m.Nodes {
		_, conv := n.Op.(*ir.Conv2D)
		_, dense := n.Op.(*ir.Dense)
		for i, w := range n.Weights {
			// A Dense kernel that packs is read by its packing, into
			// the buffer it is packed in (see lowerer.dense).
			packs := dense && i == 0 && len(w.Shape) == 2 && kernels.DensePacks(w.Shape[0], w.Shape[1])
			if !(conv && i == 0) && !packs {
				ws = append(ws, w)
			}
		}
	}
	l.p.pool.Do(l.p.threads, len(ws), ws)
}

// weightReads reads weights as a par.Job.
type weightReads []*ir.Weight

// RunItem reads weight i.
func (ws weightReads) RunItem(_, i int) { ws[i].Data() }
