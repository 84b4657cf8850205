package serve

import "sync"

// bufPool recycles the large per-request buffers (request bodies, decoded
// input tensors, merged batch inputs, response bodies) so that a server
// under load allocates little per request: fewer GC cycles, and the heap
// does not swing between cycles (the scavenger's madvise calls showed in
// profiles of the load test). Each Server owns its pools; nothing is
// process-global.
type bufPool struct {
	bytes  sync.Pool // *[]byte
	floats sync.Pool // *[]float32
}

// maxPooled bounds the buffers kept (in bytes): a rare huge request does
// not pin its buffer.
const maxPooled = 16 << 20

// getBytes returns an empty byte slice with capacity at least n.
func (p *bufPool) getBytes(n int) []byte {
	if v, ok := p.bytes.Get().(*[]byte); ok && cap(*v) >= n {
		return (*v)[:0]
	}
	return make([]byte, 0, max(n, 512))
}

// putBytes gives b back; the caller must not use it any more.
func (p *bufPool) putBytes(b []byte) {
	if cap(b) == 0 || cap(b) > maxPooled {
		return
	}
	p.bytes.Put(&b)
}

// getFloats returns a float32 slice of length n (contents undefined).
func (p *bufPool) getFloats(n int) []float32 {
	if v, ok := p.floats.Get().(*[]float32); ok && cap(*v) >= n {
		return (*v)[:n]
	}
	return make([]float32, n)
}

// putFloats gives f back; the caller must not use it any more.
func (p *bufPool) putFloats(f []float32) {
	if cap(f) == 0 || 4*cap(f) > maxPooled {
		return
	}
	p.floats.Put(&f)
}
