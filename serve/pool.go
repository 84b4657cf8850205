package serve

import (
	"math/bits"
	"sync"
)

// bufPool recycles the large per-request buffers (request bodies, decoded
// input tensors, merged batch inputs, response bodies) so that a server
// under load allocates little per request: fewer GC cycles, and the heap
// does not swing between cycles (the scavenger's madvise calls showed in
// profiles of the load test). Each Server owns its pools; nothing is
// process-global.
//
// Buffers are kept by size class (capacities that are powers of two), so
// that requests of one size always find a buffer of theirs: with a single
// pool, a merged batch's large buffer or a small JSON header taken in
// passing by a request of another size was dropped and reallocated.
type bufPool struct {
	bytes  [classes]sync.Pool // *[]byte of capacity 1<<class
	floats [classes]sync.Pool // *[]float32 of capacity 1<<class
}

// maxPooled bounds the buffers kept (in bytes): a rare huge request does
// not pin its buffer.
const maxPooled = 16 << 20

// classes is the number of size classes: capacities 1 … 1<<(classes-1)
// elements, which covers maxPooled bytes.
const classes = 25

// class returns the size class of a buffer of n elements (capacity
// 1<<class ≥ n).
func class(n int) int {
	if n <= 1 {
		return 0
	}
	return bits.Len(uint(n - 1))
}

// getBytes returns an empty byte slice with capacity at least n.
func (p *bufPool) getBytes(n int) []byte {
	n = max(n, 512)
	c := class(n)
	if c < classes {
		if v, ok := p.bytes[c].Get().(*[]byte); ok {
			return (*v)[:0]
		}
		return make([]byte, 0, 1<<c)
	}
	return make([]byte, 0, n)
}

// putBytes gives b back; the caller must not use it any more.
func (p *bufPool) putBytes(b []byte) {
	if cap(b) == 0 || cap(b) > maxPooled {
		return
	}
	// The class whose every request b can serve: cap(b) ≥ 1<<c.
	c := bits.Len(uint(cap(b))) - 1
	b = b[: 0 : 1<<c]
	p.bytes[c].Put(&b)
}

// getFloats returns a float32 slice of length n (contents undefined).
func (p *bufPool) getFloats(n int) []float32 {
	c := class(n)
	if c < classes && 4<<c <= maxPooled {
		if v, ok := p.floats[c].Get().(*[]float32); ok {
			return (*v)[:n]
		}
		return make([]float32, n, 1<<c)
	}
	return make([]float32, n)
}

// putFloats gives f back; the caller must not use it any more.
func (p *bufPool) putFloats(f []float32) {
	if cap(f) == 0 || 4*cap(f) > maxPooled {
		return
	}
	c := bits.Len(uint(cap(f))) - 1
	f = f[: 0 : 1<<c]
	p.floats[c].Put(&f)
}
